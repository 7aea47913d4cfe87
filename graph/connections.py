"""Turns connection arguments into checked page requests, and pages into connections."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from db import jobs as job_queries
from db.cache import keys as ck
from db.cache.pages import cached_page
from db.models import JobStatus
from db.pagination import Page, PageWindow
from db.queries import categories as category_queries
from db.queries import changes as change_queries
from db.queries import products as product_queries
from db.queries import webhooks as webhook_queries
from db.queries.search import Search
from db.rows import CategoryRow, ChangeRow, JobRow, ProductRow, WebhookRow
from graph import cursors, ids, search
from graph.context import Context
from graph.errors import BadUserInput
from graph.loaders.products import ProductPageArgs
from graph.settings import Settings
from graph.types.enums import SortDirection
from graph.types.inputs import ProductFilter, ProductSort
from graph.types.page_info import PageInfo
from graph.types.product import Product, ProductConnection, ProductEdge
from graph.viewer import Viewer

PAGE_ARGUMENT_DESCRIPTIONS = {
    "first": "How many items from the start (or from `after`), 0 to 100; 20 if neither is given.",
    "after": "Start after the item with this cursor.",
    "last": "How many items from the end (or up to `before`), 0 to 100.",
    "before": "End before the item with this cursor.",
}
SEARCH_DESCRIPTION = (
    "Words to find in the name, category names, SKUs and description; each word matches the "
    'start of a word, a longer word also a close misspelling. "Quoted words" match as a '
    "phrase, `or` between words matches either, `-word` excludes. Blank means no search; at "
    "most 200 characters."
)
CATEGORY_SORT_NAME = "CATEGORY"
CATEGORY_KEY_TYPES = (int, int, str, int)
SORT_KEY_TYPES: dict[product_queries.ProductSortField, tuple[type, ...]] = {
    product_queries.ProductSortField.NAME: (str, int),
    product_queries.ProductSortField.PRICE: (Decimal, int),
    product_queries.ProductSortField.CREATED_AT: (datetime, int),
    product_queries.ProductSortField.UPDATED_AT: (datetime, int),
}


@dataclass(frozen=True, slots=True)
class PageArguments:
    first: int | None
    after: str | None
    last: int | None
    before: str | None


def selects(info: Info[Context, Any], name: str) -> bool:
    """Whether the current field's selection asks for `name` (through fragments too)."""
    pending: list[Any] = list(info.selected_fields[0].selections)
    while pending:
        item = pending.pop()
        if isinstance(item, SelectedField) and item.name == name:
            return True
        if isinstance(item, FragmentSpread | InlineFragment):
            pending.extend(item.selections)
    return False


def page_window(
    settings: Settings,
    request: PageArguments,
    sort_name: str,
    types: tuple[type, ...],
    with_total: bool,
) -> PageWindow:
    cap = settings.max_page_size
    if request.first is not None and request.last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.")
    for name, value in (("first", request.first), ("last", request.last)):
        if value is not None and not 0 <= value <= cap:
            raise BadUserInput(f"`{name}` must be between 0 and {cap}; got {value}.")
    first = request.first
    if first is None and request.last is None:
        first = settings.default_page_size
    return PageWindow(
        first=first,
        last=request.last,
        after=None if request.after is None else cursors.decode(request.after, sort_name, types),
        before=None if request.before is None else cursors.decode(request.before, sort_name, types),
        with_total=with_total,
    )


def _window(
    info: Info[Context, Any], request: PageArguments, sort_name: str, types: tuple[type, ...]
) -> PageWindow:
    settings = info.context.settings
    return page_window(settings, request, sort_name, types, selects(info, "totalCount"))


def page_info(page: Page[Any], sort_name: str) -> PageInfo:
    keysets = page.keysets
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors.encode(sort_name, keysets[0]) if keysets else None,
        end_cursor=cursors.encode(sort_name, keysets[-1]) if keysets else None,
    )


def product_filter(viewer: Viewer, given: ProductFilter | None) -> product_queries.ProductFilter:
    visible = viewer.visible_statuses
    if given is None:
        return product_queries.ProductFilter(statuses=visible)
    statuses = visible if given.status is None else tuple(s for s in visible if s in given.status)
    return product_queries.ProductFilter(
        statuses=statuses,
        category_id=None
        if given.category_id is None
        else ids.decode_as(given.category_id, "Category"),
        min_price=given.min_price,
        max_price=given.max_price,
        in_stock=given.in_stock,
    )


def product_sort(given: ProductSort | None) -> tuple[product_queries.ProductSort, str]:
    if given is None or search.relevance_requested(given.field):
        return product_queries.ProductSort(), "NAME:ASC"
    field = product_queries.ProductSortField(given.field.value)
    descending = given.direction is SortDirection.DESC
    return product_queries.ProductSort(field, descending), f"{field}:{given.direction.value}"


def product_connection(
    page: Page[ProductRow], sort_name: str, matches: Search | None = None
) -> ProductConnection:
    edges = [
        ProductEdge(node=Product.from_row(row), sort_name=sort_name, keyset=keyset)
        for row, keyset in zip(page.rows, page.keysets, strict=True)
    ]
    return ProductConnection(
        edges=edges, page_info=page_info(page, sort_name), total_count=page.total, search=matches
    )


async def searched_page(
    context: Context,
    request: PageArguments,
    matches: Search,
    given_sort: ProductSort | None,
    with_total: bool,
) -> tuple[Page[ProductRow], str]:
    """A page of a search's matches, by relevance unless `given_sort` names another order."""
    if given_sort is None or search.relevance_requested(given_sort.field):
        if given_sort is not None and given_sort.direction is SortDirection.DESC:
            raise BadUserInput("RELEVANCE sorts best first: pass ASC or leave `direction` out.")
        types: tuple[type, ...] = search.RELEVANCE_KEY_TYPES
        sort, sort_name = None, search.RELEVANCE_SORT_NAME
    else:
        sort, sort_name = product_sort(given_sort)
        types = SORT_KEY_TYPES[sort.field]
    window = page_window(context.settings, request, sort_name, types, with_total)
    return await search.search_page(context, matches, sort, window), sort_name


def category_search(
    context: Context,
    category_id: int,
    text: str | None,
    given_filter: ProductFilter | None,
    include_subcategories: bool,
) -> Search:
    """What a category's list matches: within the category, whatever the filter's category."""
    flt = replace(product_filter(context.viewer, given_filter), category_id=category_id)
    return Search(search.search_query(text), flt, own_category_only=not include_subcategories)


def category_page_args(
    context: Context,
    request: PageArguments,
    given_filter: ProductFilter | None,
    given_sort: ProductSort | None,
    include_subcategories: bool,
    with_total: bool,
) -> tuple[ProductPageArgs, str]:
    """What decides a category's page of products, and the name its cursors carry."""
    sort, sort_name = product_sort(given_sort)
    args = ProductPageArgs(
        flt=product_filter(context.viewer, given_filter),
        sort=sort,
        window=page_window(
            context.settings, request, sort_name, SORT_KEY_TYPES[sort.field], with_total
        ),
        include_subcategories=include_subcategories,
    )
    return args, sort_name


async def category_products(
    info: Info[Context, Any],
    category_id: int,
    request: PageArguments,
    given_filter: ProductFilter | None,
    given_sort: ProductSort | None,
    include_subcategories: bool,
    text: str | None = None,
) -> ProductConnection:
    matches = category_search(info.context, category_id, text, given_filter, include_subcategories)
    if matches.query is not None:
        with_total = selects(info, "totalCount")
        page, sort_name = await searched_page(
            info.context, request, matches, given_sort, with_total
        )
        return product_connection(page, sort_name, matches)
    args, sort_name = category_page_args(
        info.context,
        request,
        given_filter,
        given_sort,
        include_subcategories,
        selects(info, "totalCount"),
    )
    page = await info.context.loaders.product_page(args).load(category_id)
    return product_connection(page, sort_name, matches)


async def product_page(
    context: Context,
    request: PageArguments,
    given_filter: ProductFilter | None,
    given_sort: ProductSort | None,
    with_total: bool,
    text: str | None = None,
) -> tuple[Page[ProductRow], str]:
    """A page of all products (or of a search's matches), and the name its cursors carry."""
    flt = product_filter(context.viewer, given_filter)
    query = search.search_query(text)
    if query is not None:
        return await searched_page(context, request, Search(query, flt), given_sort, with_total)
    sort, sort_name = product_sort(given_sort)
    window = page_window(
        context.settings, request, sort_name, SORT_KEY_TYPES[sort.field], with_total
    )

    async def load() -> Page[ProductRow]:
        async with context.readers() as session:
            return await product_queries.product_page(
                session=session, flt=flt, sort=sort, window=window
            )

    generation = ck.listing_generation(flt.category_id)
    page = await cached_page(
        context.store,
        name="products",
        generation=generation,
        args=(flt, sort, window),
        load=load,
        row_type=ProductRow,
        keyset=sort.keyset,
    )
    context.loaders.product_by_id.prime_all([(row.id, row) for row in page.rows])
    return page, sort_name


async def products(
    info: Info[Context, Any],
    request: PageArguments,
    given_filter: ProductFilter | None,
    given_sort: ProductSort | None,
    text: str | None = None,
) -> ProductConnection:
    page, sort_name = await product_page(
        info.context, request, given_filter, given_sort, selects(info, "totalCount"), text
    )
    flt = product_filter(info.context.viewer, given_filter)
    return product_connection(page, sort_name, Search(search.search_query(text), flt))


async def category_page(
    context: Context,
    request: PageArguments,
    parent_id: str | None,
    roots_only: bool,
    with_total: bool,
) -> Page[CategoryRow]:
    window = page_window(
        context.settings, request, CATEGORY_SORT_NAME, CATEGORY_KEY_TYPES, with_total
    )
    parent = None if parent_id is None else ids.decode_as(parent_id, "Category")

    async def load() -> Page[CategoryRow]:
        async with context.readers() as session:
            return await category_queries.category_page(
                session=session, window=window, parent_id=parent, roots_only=roots_only
            )

    page = await cached_page(
        context.store,
        name="categories",
        generation=ck.CATEGORIES_GENERATION,
        args=(window, parent, roots_only),
        load=load,
        row_type=CategoryRow,
        keyset=category_queries.category_keyset,
    )
    for row in page.rows:
        context.loaders.category_by_id.prime_missing(row.id, row)
    return page


async def categories(
    info: Info[Context, Any], request: PageArguments, parent_id: str | None, roots_only: bool
) -> Page[CategoryRow]:
    with_total = selects(info, "totalCount")
    return await category_page(info.context, request, parent_id, roots_only, with_total)


async def changes(info: Info[Context, Any], request: PageArguments) -> Page[ChangeRow]:
    window = _window(info, request, "CHANGE", (int,))
    async with info.context.readers() as session:
        return await change_queries.change_page(session=session, window=window)


async def jobs(
    info: Info[Context, Any], request: PageArguments, statuses: list[JobStatus] | None
) -> Page[JobRow]:
    window = _window(info, request, "JOB", (int,))
    async with info.context.readers() as session:
        return await job_queries.job_page(session=session, window=window, statuses=statuses)


async def webhooks(info: Info[Context, Any], request: PageArguments) -> Page[WebhookRow]:
    window = _window(info, request, "WEBHOOK", (int,))
    async with info.context.readers() as session:
        return await webhook_queries.webhook_page(session=session, window=window)
