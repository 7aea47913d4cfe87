"""Input objects for filtering and sorting products."""

from decimal import Decimal

import strawberry

from graph.types.enums import ProductSortField, ProductStatus, SortDirection


@strawberry.input(description="Narrows a product list; all given conditions must hold.")
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only products in this category or its subcategories."
    )
    min_price: Decimal | None = strawberry.field(
        default=None, description="Only products whose lowest price is at least this."
    )
    max_price: Decimal | None = strawberry.field(
        default=None, description="Only products whose lowest price is at most this."
    )
    in_stock: bool | None = strawberry.field(
        default=None, description="Only products with (true) or without (false) stock."
    )
    status: list[ProductStatus] | None = strawberry.field(
        default=None,
        description="Only products with these statuses. Anonymous viewers only see ACTIVE.",
    )


@strawberry.input(description="How to order a product list.")
class ProductSort:
    field: ProductSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Ascending (the default) or descending."
    )
