"""Product variants: the things actually bought, each with its price and stock."""

from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.types import Info

from db.rows import VariantRow
from graph import ids
from graph.context import Context
from graph.errors import GatewayError
from graph.types.demand import list_size
from graph.types.money import Money
from graph.types.node import Node

if TYPE_CHECKING:
    from graph.types.product import Product

ProductRef = Annotated["Product", strawberry.lazy("graph.types.product")]


@strawberry.type(description="One option a variant was chosen by, such as Size: M.")
class SelectedOption:
    name: str = strawberry.field(description="The option's name, such as Size.")
    value: str = strawberry.field(description="The chosen value, such as M.")


@strawberry.federation.type(
    keys=["id", "sku"],
    description="A purchasable version of a product, such as one size and color.",
)
class ProductVariant(Node):
    sku: str = strawberry.field(description="The stock keeping unit, unique in the catalog.")
    name: str = strawberry.field(description="The variant's name.")
    selected_options: list[SelectedOption] = strawberry.field(
        description="The options that make this variant.", directives=[list_size(assumed_size=5)]
    )
    price: Money = strawberry.field(description="What the variant costs.")
    compare_at_price: Money | None = strawberry.field(
        description="The former or list price to compare against, when there is one."
    )
    quantity_available: int = strawberry.field(description="Units in stock.")
    available_for_sale: bool = strawberry.field(description="Whether any unit is in stock.")
    row: strawberry.Private[VariantRow]

    @classmethod
    def from_row(cls, row: VariantRow) -> Self:
        compare_at = row.compare_at_price
        return cls(
            id=strawberry.ID(ids.encode("ProductVariant", row.id)),
            sku=row.sku,
            name=row.name,
            selected_options=[
                SelectedOption(name=str(o["name"]), value=str(o["value"]))
                for o in row.selected_options
            ],
            price=Money(amount=row.price, currency=row.currency),
            compare_at_price=None
            if compare_at is None
            else Money(amount=compare_at, currency=row.currency),
            quantity_available=row.quantity,
            available_for_sale=row.quantity > 0,
            row=row,
        )

    @strawberry.field(description="The product this variant belongs to.")
    async def product(self, info: Info[Context, None]) -> ProductRef:
        from graph.types.product import Product

        row = await info.context.loaders.product_by_id.load(self.row.product_id)
        if row is None:
            raise GatewayError("variant without product")
        return Product.from_row(row)
