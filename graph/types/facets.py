"""Facets of a product list: counts over everything it matches, each ignoring its own filter."""

from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from db.queries import search as search_queries
from graph.context import Context
from graph.errors import GatewayError

if TYPE_CHECKING:
    from graph.types.category import Category

CategoryRef = Annotated["Category", strawberry.lazy("graph.types.category")]


@strawberry.type(description="How many of the matches are listed in one category.")
class CategoryFacet:
    count: int = strawberry.field(description="Matches listed in the category itself.")
    category_id: strawberry.Private[int]

    @strawberry.field(description="The category the products are listed in.")
    async def category(self, info: Info[Context, None]) -> CategoryRef:
        from graph.types.category import Category

        row = await info.context.loaders.category_by_id.load(self.category_id)
        if row is None:
            raise GatewayError("facet of a category that is gone")
        return Category.from_row(row)


@strawberry.type(description="How many matches have their lowest price in a range.")
class PriceBucket:
    min: Decimal = strawberry.field(description="The lowest price in the range, included.")
    max: Decimal | None = strawberry.field(
        description="The price the range ends before; null for the top range."
    )
    count: int = strawberry.field(description="Matches in the range.")


@strawberry.type(description="How many matches have (or lack) stock.")
class BooleanFacet:
    value: bool = strawberry.field(description="In stock (true) or not (false).")
    count: int = strawberry.field(description="Matches with this value.")


@strawberry.type(description="How many matches have a variant with one option value.")
class OptionValueFacet:
    value: str = strawberry.field(description="The option's value, such as Red.")
    count: int = strawberry.field(description="Matches with a variant of this value.")


@strawberry.type(description="The values of one variant option among the matches.")
class OptionFacet:
    name: str = strawberry.field(description="The option's name, such as Color.")
    values: list[OptionValueFacet] = strawberry.field(
        description="Its values, the most common first."
    )


@strawberry.type(
    description="Counts over all the list's matches, whatever the page; each group ignores "
    "its own filter (categories ignore `categoryId`, prices `minPrice`/`maxPrice`, stock "
    "`inStock`), so a shopper sees what changing it would give. Only groups asked for are counted."
)
class ProductFacets:
    categories: list[CategoryFacet] = strawberry.field(
        description="Matches per category they are listed in, the most first."
    )
    price_buckets: list[PriceBucket] = strawberry.field(
        description="Matches per range of lowest price, cheapest first; empty ranges left out."
    )
    in_stock: list[BooleanFacet] = strawberry.field(
        description="Matches with stock and without, true first; zero counts left out."
    )
    options: list[OptionFacet] = strawberry.field(description="Variant options, by name.")


def _bounds(bucket: int) -> tuple[Decimal, Decimal | None]:
    edges = search_queries.PRICE_EDGES
    low = Decimal("0") if bucket == 0 else edges[bucket - 1]
    return low, edges[bucket] if bucket < len(edges) else None


def _bucket(bucket: int, count: int) -> PriceBucket:
    low, high = _bounds(bucket)
    return PriceBucket(min=low, max=high, count=count)


def product_facets(counts: list[search_queries.FacetCount]) -> ProductFacets:
    by_group: dict[str, list[search_queries.FacetCount]] = defaultdict(list)
    for count in counts:
        by_group[count.facet].append(count)
    categories = sorted(by_group[search_queries.CATEGORIES], key=lambda c: (-c.count, c.key))
    buckets = sorted(by_group[search_queries.PRICES], key=lambda c: c.key or 0)
    stock = sorted(by_group[search_queries.STOCK], key=lambda c: -(c.key or 0))
    options: dict[str, list[OptionValueFacet]] = defaultdict(list)
    for c in sorted(by_group[search_queries.OPTIONS], key=lambda c: (-c.count, c.value or "")):
        options[c.name or ""].append(OptionValueFacet(value=c.value or "", count=c.count))
    return ProductFacets(
        categories=[CategoryFacet(count=c.count, category_id=c.key or 0) for c in categories],
        price_buckets=[_bucket(c.key or 0, c.count) for c in buckets],
        in_stock=[BooleanFacet(value=bool(c.key), count=c.count) for c in stock],
        options=[OptionFacet(name=name, values=values) for name, values in sorted(options.items())],
    )


async def facets(info: Info[Context, Any], search: search_queries.Search) -> ProductFacets:
    """The facet groups the selection asks for, in one statement."""
    from graph.connections import selects
    from graph.search import facet_counts

    groups = [group for group in search_queries.FACETS if selects(info, group)]
    return product_facets(await facet_counts(info.context, search, groups))
