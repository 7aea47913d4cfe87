"""Search arguments checked, and search pages, facets and suggestions read through the cache.

Every product or category change bumps the catalog's listing generation, which keys all of them:
a product's search text spans its category names and SKUs, so no narrower key stays right.
"""

from collections.abc import Sequence
from typing import Any

import orjson

from db.cache import codec
from db.cache import keys as ck
from db.cache.pages import cached_value
from db.pagination import Keyset, Page, PageWindow
from db.queries import search as search_queries
from db.queries.products import ProductSort, ProductSortField
from db.rows import ProductRow
from db.search.text import TOKEN, SearchQuery, parse
from graph.context import Context
from graph.errors import BadUserInput

MAX_SEARCH_LENGTH = 200
RELEVANCE_SORT_NAME = "RELEVANCE:ASC"
RELEVANCE_KEY_TYPES = (float, int)
MAX_SUGGESTIONS = 20
DEFAULT_SUGGESTIONS = 8
Hit = tuple[ProductRow, float | None]


def search_query(text: str | None) -> SearchQuery | None:
    """The parsed search; None for no search, which blank text is too."""
    if text is None:
        return None
    _check_text("search", text)
    return parse(text)


def _check_text(name: str, text: str) -> None:
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"`{name}` is at most {MAX_SEARCH_LENGTH} characters; got {len(text)}.")
    if "\x00" in text:
        raise BadUserInput(f"`{name}` must not contain NUL characters.")


def relevance_requested(field: ProductSortField | None) -> bool:
    return field is ProductSortField.RELEVANCE


def _encode_hits(page: Page[Hit]) -> bytes:
    return codec.encode(
        {
            "rows": [row for row, _ in page.rows],
            "scores": [score for _, score in page.rows],
            "next": page.has_next,
            "previous": page.has_previous,
            "total": page.total,
        }
    )


def _hits_decoder(sort: ProductSort | None) -> Any:
    def decode(raw: bytes) -> Page[Hit]:
        data = orjson.loads(raw)
        rows = [codec.decode_row(ProductRow, row) for row in data["rows"]]
        hits: list[Hit] = list(zip(rows, data["scores"], strict=True))
        keysets = [_keyset(sort, hit) for hit in hits]
        return Page(hits, keysets, data["next"], data["previous"], data["total"])

    return decode


def _keyset(sort: ProductSort | None, hit: Hit) -> Keyset:
    row, score = hit
    return Keyset((score, row.id)) if sort is None else sort.keyset(row)


async def search_page(
    context: Context,
    search: search_queries.Search,
    sort: ProductSort | None,
    window: PageWindow,
) -> Page[ProductRow]:
    """A page of a search's matches; by relevance when `sort` is None."""

    async def load() -> Page[Hit]:
        async with context.readers() as session:
            return await search_queries.search_page(
                session=session, search=search, sort=sort, window=window
            )

    hits = await cached_value(
        context.store,
        name="search",
        generation=ck.listing_generation(None),
        args=(search, sort, window),
        load=load,
        encode=_encode_hits,
        decode=_hits_decoder(sort),
    )
    rows = [row for row, _ in hits.rows]
    context.loaders.product_by_id.prime_all([(row.id, row) for row in rows])
    return Page(rows, hits.keysets, hits.has_next, hits.has_previous, hits.total)


def _decode_counts(raw: bytes) -> list[search_queries.FacetCount]:
    return [search_queries.FacetCount(**item) for item in orjson.loads(raw)]


async def facet_counts(
    context: Context, search: search_queries.Search, groups: Sequence[str]
) -> list[search_queries.FacetCount]:
    wanted = tuple(g for g in search_queries.FACETS if g in groups)

    async def load() -> list[search_queries.FacetCount]:
        async with context.readers() as session:
            return await search_queries.search_facets(session=session, search=search, groups=wanted)

    return await cached_value(
        context.store,
        name="facets",
        generation=ck.listing_generation(None),
        args=(search, wanted),
        load=load,
        encode=codec.encode,
        decode=_decode_counts,
    )


def _decode_suggestions(raw: bytes) -> list[search_queries.Suggestion]:
    return [search_queries.Suggestion(**item) for item in orjson.loads(raw)]


async def suggestions(
    context: Context, prefix: str, first: int | None
) -> list[search_queries.Suggestion]:
    _check_text("prefix", prefix)
    count = DEFAULT_SUGGESTIONS if first is None else first
    if not 0 <= count <= MAX_SUGGESTIONS:
        raise BadUserInput(f"`first` must be between 0 and {MAX_SUGGESTIONS}; got {count}.")
    words = TOKEN.findall(prefix.lower())[:8]
    statuses = context.viewer.visible_statuses

    async def load() -> list[search_queries.Suggestion]:
        async with context.readers() as session:
            return await search_queries.search_suggestions(
                session=session, words=words, statuses=statuses, first=count
            )

    return await cached_value(
        context.store,
        name="suggestions",
        generation=ck.listing_generation(None),
        args=(words, statuses, count),
        load=load,
        encode=codec.encode,
        decode=_decode_suggestions,
    )
