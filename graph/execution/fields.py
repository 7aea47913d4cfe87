"""How the planned executor resolves each field of the catalog, on rows rather than objects.

A field is either a getter (one parent value in, the field's value out, no coroutine) or a
batch (every parent of a level in, one value or exception per parent out, through the same
loaders and `graph` functions the Strawberry resolvers call, so both executors agree; the
differential test holds them to it). Values are the rows the loaders return and small tuples:

    Product, MoneyRange  ProductRow        Money            (amount, currency)
    ProductVariant       VariantRow        SelectedOption   {"name", "value"} dict
    ProductImage         ImageRow          Category         CategoryRow
    *Connection          Connection        *Edge            Edge
    PageInfo             PageInfo (the Strawberry object)

A (type, field) missing here sends the whole operation to graphql-core. Federation's
`_entities` is planned (a router calls it for every operation that crosses into this subgraph);
`_service` is not: a router reads it once, when it composes, and Strawberry prints it.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from db.pagination import Keyset, Page
from db.queries.products import ProductFilter
from db.queries.search import FACETS, Search
from db.queries.variants import IMAGES_PER_PRODUCT
from db.rows import CategoryRow, ProductRow, VariantRow
from graph import connections, cursors, entities, ids, lookups, nodes, search
from graph.context import Context
from graph.errors import GatewayError
from graph.types.facets import product_facets
from graph.types.suggestion import TYPE_NAMES as SUGGESTED_TYPES
from graph.types.suggestion import SearchSuggestionKind
from graph.validation import check_count

# A batch: the context, the parents, the field's arguments (as the Strawberry resolver gets
# them) and the names of the fields selected under it; one value or exception per parent.
Batch = Callable[[Context, Sequence[Any], dict[str, Any], frozenset[str]], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    get: Callable[[Any], Any] | None = None
    batch: Batch | None = None
    # The batch loads one key of one loader (a root lookup): when it is the only batch of its
    # level, nothing could share its statement, and the key is loaded in the run's own task
    # (graph.context.Loaders.alone). A batch that loads several keys one by one (`_entities`)
    # must not say so: each key would then be a statement of its own.
    one_key: bool = False


class Connection(NamedTuple):
    page: Page[Any]
    sort_name: str
    # What a product list matches, for its facets.
    search: Search | None = None


class Edge(NamedTuple):
    row: Any
    keyset: Keyset
    sort_name: str


def get(getter: Callable[[Any], Any]) -> FieldSpec:
    return FieldSpec(get=getter)


def attr(name: str) -> FieldSpec:
    return FieldSpec(get=attrgetter(name))


def attr_pair(first: str, second: str) -> FieldSpec:
    return FieldSpec(get=attrgetter(first, second))


def batch(function: Batch) -> FieldSpec:
    return FieldSpec(batch=function)


def lookup(function: Batch) -> FieldSpec:
    return FieldSpec(batch=function, one_key=True)


def _page_arguments(kwargs: dict[str, Any]) -> connections.PageArguments:
    return connections.PageArguments(
        kwargs.get("first"), kwargs.get("after"), kwargs.get("last"), kwargs.get("before")
    )


def _edges(connection: Connection) -> list[Edge]:
    page = connection.page
    return [
        Edge(row, keyset, connection.sort_name)
        for row, keyset in zip(page.rows, page.keysets, strict=True)
    ]


# Query: one parent (the root), one result.


async def _node(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return [await nodes.node(ctx, kw["id"])]


async def _nodes(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return [await nodes.nodes(ctx, kw["ids"])]


async def _entities(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return [await entities.entities(ctx, kw["representations"])]


# Fields under `product` (as the plan names them) that read its category's ancestors: a lookup
# by slug brings them, in the same statement, only then.
ANCESTRY = frozenset({"category.ancestors", "category.parent"})


async def _product(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], selected: frozenset[str]
) -> list[Any]:
    row = await lookups.product(
        ctx,
        kw.get("id"),
        kw.get("slug"),
        with_category="category" in selected,
        with_ancestors=bool(ANCESTRY & selected),
        with_variants="variants" in selected,
        with_images="images" in selected,
    )
    return [row]


async def _category(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return [await lookups.category(ctx, kw.get("id"), kw.get("slug"))]


async def _products(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], selected: frozenset[str]
) -> list[Any]:
    page, sort_name = await connections.product_page(
        ctx,
        _page_arguments(kw),
        kw.get("filter"),
        kw.get("sort_by"),
        "totalCount" in selected,
        kw.get("search"),
    )
    matches = Search(search.search_query(kw.get("search")), _filter(ctx, kw))
    return [Connection(page, sort_name, matches)]


def _filter(ctx: Context, kw: dict[str, Any]) -> ProductFilter:
    return connections.product_filter(ctx.viewer, kw.get("filter"))


async def _categories(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], selected: frozenset[str]
) -> list[Any]:
    page = await connections.category_page(
        ctx,
        _page_arguments(kw),
        kw.get("parent_id"),
        bool(kw.get("roots_only")),
        "totalCount" in selected,
    )
    return [Connection(page, connections.CATEGORY_SORT_NAME)]


# Product


def _category_of(missing: str) -> Batch:
    """The category of each parent with a `category_id` (a product, a category facet)."""

    async def load(
        ctx: Context, parents: Sequence[Any], _: dict[str, Any], __: frozenset[str]
    ) -> list[Any]:
        rows = await ctx.loaders.category_by_id.load_many([p.category_id for p in parents])
        return [GatewayError(missing) if r is None else r for r in rows]

    return load


async def _variants(
    ctx: Context, parents: Sequence[ProductRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return list(await ctx.loaders.variants_by_product_id.load_many([p.id for p in parents]))


async def _images(
    ctx: Context, parents: Sequence[ProductRow], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    limit = check_count("first", kw.get("first"), IMAGES_PER_PRODUCT, IMAGES_PER_PRODUCT)
    found = await ctx.loaders.images_by_product_id(limit).load_many([p.id for p in parents])
    return list(found)


async def _view_count(
    ctx: Context, parents: Sequence[ProductRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    if not ctx.viewer.is_staff:  # IsEditorOrNull: null, without an error
        return [None] * len(parents)
    loader = ctx.loaders.view_count_by_product_id
    return list(await loader.load_many([p.id for p in parents]))


# ProductVariant


async def _variant_product(
    ctx: Context, parents: Sequence[VariantRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    rows = await ctx.loaders.product_by_id.load_many([v.product_id for v in parents])
    return [GatewayError("variant without product") if r is None else r for r in rows]


def _compare_at(row: VariantRow) -> tuple[Any, str] | None:
    return None if row.compare_at_price is None else (row.compare_at_price, row.currency)


# Category


async def _parent(
    ctx: Context, parents: Sequence[CategoryRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    wanted = [c.parent_id for c in parents if c.parent_id is not None]
    found = dict(zip(wanted, await ctx.loaders.category_by_id.load_many(wanted), strict=True))
    return [None if c.parent_id is None else found[c.parent_id] for c in parents]


async def _children(
    ctx: Context, parents: Sequence[CategoryRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return list(await ctx.loaders.children_by_category_id.load_many([c.id for c in parents]))


async def _ancestors(
    ctx: Context, parents: Sequence[CategoryRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return list(await ctx.loaders.ancestors_by_category_id.load_many([c.id for c in parents]))


async def _product_count(
    ctx: Context, parents: Sequence[CategoryRow], _: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    loader = ctx.loaders.product_count_by_category_id
    return list(await loader.load_many([c.id for c in parents]))


async def _category_products(
    ctx: Context, parents: Sequence[CategoryRow], kw: dict[str, Any], selected: frozenset[str]
) -> list[Any]:
    if search.search_query(kw.get("search")) is not None:
        return [await _category_search(ctx, parent, kw, selected) for parent in parents]
    args, sort_name = connections.category_page_args(
        ctx,
        _page_arguments(kw),
        kw.get("filter"),
        kw.get("sort_by"),
        kw.get("include_subcategories") is not False,
        "totalCount" in selected,
    )
    pages = await ctx.loaders.product_page(args).load_many([c.id for c in parents])
    subtree = kw.get("include_subcategories") is not False
    return [
        Connection(page, sort_name, Search(None, replace(args.flt, category_id=c.id), not subtree))
        for c, page in zip(parents, pages, strict=True)
    ]


async def _category_search(
    ctx: Context, parent: CategoryRow, kw: dict[str, Any], selected: frozenset[str]
) -> Connection:
    subtree = kw.get("include_subcategories") is not False
    matches = connections.category_search(ctx, parent.id, kw["search"], kw.get("filter"), subtree)
    page, sort_name = await connections.searched_page(
        ctx, _page_arguments(kw), matches, kw.get("sort_by"), "totalCount" in selected
    )
    return Connection(page, sort_name, matches)


async def _facets(
    ctx: Context, parents: Sequence[Connection], _: dict[str, Any], selected: frozenset[str]
) -> list[Any]:
    groups = [group for group in FACETS if group in selected]
    found = []
    for parent in parents:
        if parent.search is None:
            raise GatewayError("a product list without its search")
        found.append(product_facets(await search.facet_counts(ctx, parent.search, groups)))
    return found


async def _suggestions(
    ctx: Context, _: Sequence[Any], kw: dict[str, Any], __: frozenset[str]
) -> list[Any]:
    return [await search.suggestions(ctx, kw["prefix"], kw.get("first"))]


def _global_id(type_name: str) -> FieldSpec:
    return get(ids.row_encoder(type_name))


CONNECTION: dict[str, FieldSpec] = {
    "edges": get(_edges),
    "pageInfo": get(lambda c: connections.page_info(c.page, c.sort_name)),
    "totalCount": get(lambda c: c.page.total),
}
EDGE: dict[str, FieldSpec] = {
    "node": get(attrgetter("row")),
    "cursor": get(lambda e: cursors.encode(e.sort_name, e.keyset)),
}

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "Query": {
        "node": batch(_node),
        "nodes": batch(_nodes),
        "product": lookup(_product),
        "products": batch(_products),
        "category": lookup(_category),
        "categories": batch(_categories),
        "_entities": batch(_entities),
        "searchSuggestions": batch(_suggestions),
    },
    "ProductConnection": {**CONNECTION, "facets": batch(_facets)},
    "CategoryConnection": CONNECTION,
    "ProductEdge": EDGE,
    "CategoryEdge": EDGE,
    "PageInfo": {
        "hasNextPage": attr("has_next_page"),
        "hasPreviousPage": attr("has_previous_page"),
        "startCursor": attr("start_cursor"),
        "endCursor": attr("end_cursor"),
    },
    "Product": {
        "id": _global_id("Product"),
        "slug": attr("slug"),
        "name": attr("name"),
        "description": attr("description"),
        "status": attr("status"),
        "priceRange": get(lambda row: row),
        "isAvailable": get(lambda row: row.in_stock and row.is_public),
        "createdAt": attr("created_at"),
        "updatedAt": attr("updated_at"),
        "category": batch(_category_of("product without category")),
        "variants": batch(_variants),
        "images": batch(_images),
        "viewCount": batch(_view_count),
    },
    "MoneyRange": {
        # attrgetter of two names gives the (amount, currency) tuple without a Python frame.
        "min": attr_pair("min_price", "currency"),
        "max": attr_pair("max_price", "currency"),
    },
    "Money": {"amount": get(itemgetter(0)), "currency": get(itemgetter(1))},
    "ProductVariant": {
        "id": _global_id("ProductVariant"),
        "sku": attr("sku"),
        "name": attr("name"),
        "selectedOptions": attr("selected_options"),
        "price": attr_pair("price", "currency"),
        "compareAtPrice": get(_compare_at),
        "quantityAvailable": attr("quantity"),
        "availableForSale": get(lambda row: row.quantity > 0),
        "product": batch(_variant_product),
    },
    "SelectedOption": {
        "name": get(lambda option: str(option["name"])),
        "value": get(lambda option: str(option["value"])),
    },
    "ProductImage": {
        "id": _global_id("ProductImage"),
        "url": attr("url"),
        "alt": attr("alt"),
        "width": attr("width"),
        "height": attr("height"),
    },
    "Category": {
        "id": _global_id("Category"),
        "slug": attr("slug"),
        "name": attr("name"),
        "description": attr("description"),
        "level": attr("level"),
        "createdAt": attr("created_at"),
        "updatedAt": attr("updated_at"),
        "parent": batch(_parent),
        "children": batch(_children),
        "ancestors": batch(_ancestors),
        "productCount": batch(_product_count),
        "products": batch(_category_products),
    },
    "ProductFacets": {
        "categories": attr("categories"),
        "priceBuckets": attr("price_buckets"),
        "inStock": attr("in_stock"),
        "options": attr("options"),
    },
    "CategoryFacet": {
        "count": attr("count"),
        "category": batch(_category_of("facet of a category that is gone")),
    },
    "PriceBucket": {"min": attr("min"), "max": attr("max"), "count": attr("count")},
    "BooleanFacet": {"value": attr("value"), "count": attr("count")},
    "OptionFacet": {"name": attr("name"), "values": attr("values")},
    "OptionValueFacet": {"value": attr("value"), "count": attr("count")},
    "SearchSuggestion": {
        "text": attr("text"),
        "kind": get(lambda s: SearchSuggestionKind(s.kind)),
        "id": get(lambda s: ids.encode(SUGGESTED_TYPES[s.kind], s.id)),
    },
    # Nodes the catalog's executor does not otherwise cover answer `id` alone.
    "Job": {"id": _global_id("Job")},
    "Webhook": {"id": _global_id("Webhook")},
}


def type_of(value: Any) -> str | None:
    """The GraphQL object type of a value under an abstract field (a node)."""
    return nodes.TYPE_NAMES.get(type(value))
