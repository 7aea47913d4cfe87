"""Product search: a page by relevance (or any sort), facet counts, and suggestions.

Statements are built once per shape and run with the caller's values as bound parameters, as
db.queries.products does for pages.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ProductStatus, categories, products, variants
from db.pagination import (
    SINGLE_PARENT,
    Keyset,
    Page,
    PageWindow,
    SortKey,
    Statements,
    bound,
    cursor_parameters,
    limited_page_statement,
    split_pages,
    window_shape,
)

# The filter's part of a statement's shape, as db.queries.products tells them apart.
from db.queries.products import (
    COLUMNS,
    ProductFilter,
    ProductSort,
    _filter_shape,
    filter_parameters,
    filtered,
    to_row,
)
from db.read_session import read_rows
from db.rows import ProductRow
from db.search import match
from db.search.text import SearchQuery

PRICE_EDGES = tuple(Decimal(edge) for edge in ("25", "50", "100", "250", "500", "1000"))
# The bound parameters that carry a caller's values; the rest (LIMITs, price edges, bm25's
# weights) are constants of the shape.
VALUES = re.compile(
    r"statuses|min_price|max_price|scope_id|(after|before)_[0-9]+|search_[0-9]+|typo_[0-9]+"
    r"|names|cw_[0-9]+"
)
_STATEMENTS = Statements(VALUES, size=256)


@dataclass(frozen=True, slots=True)
class Search:
    """A search request: the parsed text (None: match every product), the filter, and whether
    `flt.category_id` means that category alone rather than its subtree."""

    query: SearchQuery | None
    flt: ProductFilter
    own_category_only: bool = False


def _dialect(session: AsyncSession) -> str:
    return str(session.get_bind().dialect.name)


def _slots(search: Search, dialect: str) -> tuple[Any, ...] | None:
    return None if search.query is None else match.shape(search.query, dialect)


def _search_shape(search: Search) -> tuple[Any, ...]:
    return (*_filter_shape(search.flt), search.own_category_only)


def _narrowed(stmt: Select[Any], search: Search, table: Any = products) -> Select[Any]:
    flt = search.flt
    if search.own_category_only and flt.category_id is not None:
        stmt = stmt.where(table.c.category_id == bindparam("scope_id", flt.category_id))
        flt = replace(flt, category_id=None)
    return filtered(stmt, flt, table, inline=False)


def _values(search: Search, dialect: str) -> dict[str, Any]:
    values = filter_parameters(search.flt)
    if search.query is not None:
        values |= match.parameters(search.query, dialect)
    return values


def _matched(columns: Sequence[Any], slots: tuple[Any, ...] | None, dialect: str) -> Select[Any]:
    """`columns` of the products the search matches (all, without a query), unfiltered."""
    if slots is None:
        return select(*columns)
    found = match.matching(slots, dialect, products)
    return select(*columns).select_from(found.source).where(found.condition)


def relevance_keyset(hit: tuple[ProductRow, float]) -> Keyset:
    return Keyset((hit[1], hit[0].id))


def _page_statement(
    search: Search, sort: ProductSort | None, window: PageWindow, dialect: str
) -> Select[Any]:
    """The matches, found once (a MATERIALIZED CTE) for the total and the page both: matching
    is the cost. FTS5 computes bm25 only in the SELECT that matches, not in a window or a
    comparison, which the CTE also keeps apart."""
    slots = _slots(search, dialect)
    if sort is None:
        assert slots is not None, "relevance needs a query"
        found = match.matching(slots, dialect, products)
        scored = select(*COLUMNS, found.score.label("score")).select_from(found.source)
        matches = _narrowed(scored.where(found.condition), search)
    else:
        matches = _narrowed(_matched(COLUMNS, slots, dialect), search)
    cte = matches.cte("matches").prefix_with("MATERIALIZED")
    if sort is None:
        key = SortKey(columns=(cte.c.score, cte.c.id))
    else:
        own = sort.key()
        key = SortKey(columns=tuple(cte.c[c.name] for c in own.columns), descending=own.descending)
    return limited_page_statement(select(*cte.c), sort=key, window=window)


async def search_page(
    *, session: AsyncSession, search: Search, sort: ProductSort | None, window: PageWindow
) -> Page[tuple[ProductRow, float | None]]:
    """A page of matches with their scores; by relevance when `sort` is None."""
    dialect = _dialect(session)
    shape = (
        "search",
        dialect,
        _slots(search, dialect),
        sort,
        _search_shape(search),
        window_shape(window),
    )
    stmt, names = _STATEMENTS.get(shape, lambda: _page_statement(search, sort, window, dialect))
    values = _values(search, dialect) | cursor_parameters(window)
    rows = await read_rows(session, stmt, bound(names, values))

    def hit(row: Any) -> tuple[ProductRow, float | None]:
        return to_row(row), (row.score if sort is None else None)

    def keyset(item: tuple[ProductRow, float | None]) -> Keyset:
        return relevance_keyset(item) if sort is None else sort.keyset(item[0])  # type: ignore[arg-type]

    pages = split_pages(rows, window=window, to_item=hit, to_keyset=keyset)
    return pages.get(SINGLE_PARENT, Page())


# Facets: one statement, one UNION ALL arm per group asked for, each counting the matches under
# every filter but its own.

CATEGORIES = "categories"
PRICES = "priceBuckets"
STOCK = "inStock"
OPTIONS = "options"
FACETS = (CATEGORIES, PRICES, STOCK, OPTIONS)


@dataclass(frozen=True, slots=True)
class FacetCount:
    facet: str
    key: int | None
    name: str | None
    value: str | None
    count: int


def price_bucket(price: ColumnElement[Any]) -> ColumnElement[Any]:
    whens = [
        (price < bindparam(f"edge_{i}", edge, price.type)) for i, edge in enumerate(PRICE_EDGES)
    ]
    return case(*((when, i) for i, when in enumerate(whens)), else_=len(PRICE_EDGES))


def _arm(
    facet: str,
    key: Any,
    name: Any,
    value: Any,
    count: Any,
    source: Any,
    search: Search,
    table: Any,
) -> Select[Any]:
    stmt = select(
        literal(facet, String).label("facet"),
        cast(key, Integer).label("key") if key is not None else cast(null(), Integer),
        cast(name, String).label("name") if name is not None else cast(null(), String),
        cast(value, String).label("value") if value is not None else cast(null(), String),
        count.label("count"),
    ).select_from(source)
    return _narrowed(stmt, search, table)


def _options(dialect: str, matched: Any) -> tuple[Any, Any, Any]:
    """The variants' selected options of each match, as (from, name, value)."""
    joined = matched.join(variants, variants.c.product_id == matched.c.id)
    name: Any
    value: Any
    if dialect == "postgresql":
        option = func.json_array_elements(variants.c.selected_options).table_valued("value")
        name, value = option.c.value.op("->>")("name"), option.c.value.op("->>")("value")
    else:
        option = func.json_each(variants.c.selected_options).table_valued("value")
        name = func.json_extract(option.c.value, "$.name")
        value = func.json_extract(option.c.value, "$.value")
    return joined.join(option, literal_column("true")), name, value


def _facets_statement(search: Search, groups: tuple[str, ...], dialect: str) -> Select[Any]:
    slots = _slots(search, dialect)
    c = products.c
    base = _matched([c.id, c.category_id, c.min_price, c.in_stock, c.status], slots, dialect)
    status_only = replace(search.flt, min_price=None, max_price=None, in_stock=None)
    m = _narrowed(base, Search(None, replace(status_only, category_id=None))).cte("matched")
    flt = search.flt
    arms: list[Select[Any]] = []
    if CATEGORIES in groups:
        scope = replace(search, flt=replace(flt, category_id=None))
        arm = _arm(CATEGORIES, m.c.category_id, None, None, func.count(), m, scope, m)
        arms.append(arm.group_by(m.c.category_id))
    if PRICES in groups:
        scope = replace(search, flt=replace(flt, min_price=None, max_price=None))
        bucket = price_bucket(m.c.min_price)
        arms.append(_arm(PRICES, bucket, None, None, func.count(), m, scope, m).group_by(bucket))
    if STOCK in groups:
        scope = replace(search, flt=replace(flt, in_stock=None))
        stocked = case((m.c.in_stock, 1), else_=0)
        arms.append(_arm(STOCK, stocked, None, None, func.count(), m, scope, m).group_by(stocked))
    if OPTIONS in groups:
        source, name, value = _options(dialect, m)
        distinct = func.count(m.c.id.distinct())
        arms.append(
            _arm(OPTIONS, None, name, value, distinct, source, search, m).group_by(name, value)
        )
    return union_all(*arms) if len(arms) > 1 else arms[0]  # type: ignore[return-value]


async def search_facets(
    *, session: AsyncSession, search: Search, groups: Sequence[str]
) -> list[FacetCount]:
    """Counts of the groups asked for, in one statement."""
    wanted = tuple(g for g in FACETS if g in groups)
    if not wanted:
        return []
    dialect = _dialect(session)
    shape = ("facets", dialect, _slots(search, dialect), _search_shape(search), wanted)
    stmt, names = _STATEMENTS.get(shape, lambda: _facets_statement(search, wanted, dialect))
    rows = await read_rows(session, stmt, bound(names, _values(search, dialect)))
    return [FacetCount(str(f), k, n, v, int(count)) for f, k, n, v, count in rows]


# Suggestions: category names and distinct product names with words starting as typed.


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: str  # "CATEGORY" or "PRODUCT"
    id: int
    text: str


def _name_prefix(words: Sequence[str], dialect: str) -> str:
    if dialect == "postgresql":
        return " & ".join(f"'{word}':*A" for word in words)
    return " AND ".join(f'name : "{word}"*' for word in words)


def _category_words(count: int) -> ColumnElement[bool]:
    # Category names are few: a LIKE per word over the lower-cased name is enough.
    spaced = literal(" ") + func.lower(categories.c.name)
    return and_(*(spaced.like(bindparam(f"cw_{i}")) for i in range(count)))


def _suggestions_statement(count: int, dialect: str, first: int) -> Select[Any]:
    category = select(
        literal("CATEGORY", String).label("kind"),
        categories.c.id.label("id"),
        categories.c.name.label("text"),
    ).where(_category_words(count))
    prefix: Any = bindparam("names", type_=String)
    if dialect == "postgresql":
        document = match.product_search_pg.c.document
        condition = document.op("@@")(
            func.to_tsquery(literal_column("'simple'::regconfig"), prefix)
        )
        source = products.join(
            match.product_search_pg, match.product_search_pg.c.product_id == products.c.id
        )
    else:
        condition = literal_column("product_search").op("MATCH")(prefix)
        source = products.join(
            match.product_search_fts, match.product_search_fts.c.rowid == products.c.id
        )
    statuses: Any = bindparam("statuses", expanding=True)
    product = (
        select(
            literal("PRODUCT", String).label("kind"),
            func.min(products.c.id).label("id"),
            products.c.name.label("text"),
        )
        .select_from(source)
        .where(condition, products.c.status.in_(statuses))
        .group_by(products.c.name)
    )
    both = union_all(category, product).subquery("suggested")
    return select(both).order_by(both.c.kind, both.c.text, both.c.id).limit(first)


async def search_suggestions(
    *,
    session: AsyncSession,
    words: Sequence[str],
    statuses: Sequence[ProductStatus],
    first: int,
) -> list[Suggestion]:
    """Categories first, then product names; every word must start a word of the name."""
    if not words or first == 0:
        return []
    dialect = _dialect(session)
    shape = ("suggestions", dialect, len(words), first)
    stmt, names = _STATEMENTS.get(shape, lambda: _suggestions_statement(len(words), dialect, first))
    values: dict[str, Any] = {
        "names": _name_prefix(words, dialect),
        "statuses": list(statuses),
    }
    for i, word in enumerate(words):
        values[f"cw_{i}"] = f"% {word}%"
    rows = await read_rows(session, stmt, bound(names, values))
    return [Suggestion(str(kind), int(id_), str(text)) for kind, id_, text in rows]
