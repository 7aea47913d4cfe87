"""Products and their connection types."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from db.pagination import Keyset
from db.queries.search import Search
from db.queries.variants import IMAGES_PER_PRODUCT
from db.rows import ProductRow
from graph import cursors, ids
from graph.context import Context
from graph.errors import GatewayError
from graph.permissions import IsEditorOrNull
from graph.types.demand import COUNT, list_size
from graph.types.enums import ProductStatus
from graph.types.facets import ProductFacets, facets
from graph.types.image import ProductImage
from graph.types.money import Money, MoneyRange
from graph.types.node import Node
from graph.types.page_info import PageInfo
from graph.validation import check_count

if TYPE_CHECKING:
    from graph.types.category import Category
    from graph.types.variant import ProductVariant

CategoryRef = Annotated["Category", strawberry.lazy("graph.types.category")]
VariantRef = Annotated["ProductVariant", strawberry.lazy("graph.types.variant")]


@strawberry.federation.type(
    keys=["id", "slug"], description="A product of the catalog, sold as one or more variants."
)
class Product(Node):
    slug: str = strawberry.field(description="The product's unique, URL-safe handle.")
    name: str = strawberry.field(description="The product's name.")
    description: str = strawberry.field(description="A plain-text description.")
    status: ProductStatus = strawberry.field(description="DRAFT, ACTIVE or ARCHIVED.")
    price_range: MoneyRange = strawberry.field(
        description="The lowest and highest price among the product's variants."
    )
    is_available: bool = strawberry.field(
        description="Whether the product is ACTIVE and at least one variant is in stock."
    )
    created_at: datetime = strawberry.field(description="When the product was created.")
    updated_at: datetime = strawberry.field(description="When the product last changed.")
    row: strawberry.Private[ProductRow]

    @classmethod
    def from_row(cls, row: ProductRow) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("Product", row.id)),
            slug=row.slug,
            name=row.name,
            description=row.description,
            status=row.status,
            price_range=MoneyRange(
                min=Money(amount=row.min_price, currency=row.currency),
                max=Money(amount=row.max_price, currency=row.currency),
            ),
            is_available=row.in_stock and row.is_public,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @classmethod
    def from_optional(cls, row: ProductRow | None) -> "Self | None":
        return None if row is None else cls.from_row(row)

    @strawberry.field(description="The category the product is listed in.")
    async def category(self, info: Info[Context, None]) -> CategoryRef:
        from graph.types.category import Category

        row = await info.context.loaders.category_by_id.load(self.row.category_id)
        if row is None:
            raise GatewayError("product without category")
        return Category.from_row(row)

    @strawberry.field(
        description="The product's variants, in position order.",
        directives=[list_size(assumed_size=10)],
    )
    async def variants(self, info: Info[Context, None]) -> list[VariantRef]:
        from graph.types.variant import ProductVariant

        rows = await info.context.loaders.variants_by_product_id.load(self.row.id)
        return [ProductVariant.from_row(row) for row in rows]

    @strawberry.field(
        description=f"The product's images in order; at most {IMAGES_PER_PRODUCT}.",
        directives=[
            list_size(
                assumed_size=IMAGES_PER_PRODUCT,
                slicing_arguments=["first"],
                require_one_slicing_argument=False,
            )
        ],
    )
    async def images(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="How many images, 0 to 20; all if omitted.")
        ] = None,
    ) -> list[ProductImage]:
        limit = check_count("first", first, IMAGES_PER_PRODUCT, IMAGES_PER_PRODUCT)
        rows = await info.context.loaders.images_by_product_id(limit).load(self.row.id)
        return [ProductImage.from_row(row) for row in rows]

    @strawberry.field(
        description="How many times the product was viewed (see productViewTrack), up to a few "
        "seconds ago. For editors and admins; null, without an error, for anyone else.",
        extensions=[
            PermissionExtension(
                permissions=[IsEditorOrNull()], use_directives=False, fail_silently=True
            )
        ],
    )
    async def view_count(self, info: Info[Context, None]) -> int | None:
        return await info.context.loaders.view_count_by_product_id.load(self.row.id)


@strawberry.type(description="A product in a list, with its position.")
class ProductEdge:
    node: Product = strawberry.field(description="The product.")
    sort_name: strawberry.Private[str]
    keyset: strawberry.Private[Keyset]

    @strawberry.field(description="Pass to `after` or `before` to page from this product.")
    def cursor(self) -> str:
        return cursors.encode(self.sort_name, self.keyset)


@strawberry.type(description="A page of products.")
class ProductConnection:
    edges: list[ProductEdge] = strawberry.field(description="The products on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(
        description="How many products match the filter in all, whatever the cursor.",
        directives=[COUNT],
    )
    # What the list matches, for its facets.
    search: strawberry.Private[Search | None] = None

    @strawberry.field(
        description="Counts over everything the list matches (search and filter), whatever "
        "the page: one statement for all the groups selected.",
        directives=[COUNT],
    )
    async def facets(self, info: Info[Context, None]) -> ProductFacets:
        if self.search is None:
            raise GatewayError("a product list without its search")
        return await facets(info, self.search)
