"""Keyset pages, for one parent or for many parents in one statement.

Two builders give the same columns to `split_pages`:
- `limited_page_statement`: a `LIMIT limit + 1` subquery per parent (LATERAL, correlated to the
  parent's row; a plain derived table for a single page), with the total and the "anything
  before/after the cursor" flags as scalar subqueries. Index-friendly: PostgreSQL's choice.
- `window_page_statement`: one window pass over every parent's filtered rows, for backends
  without LATERAL (SQLite). It numbers each parent's rows inside and outside the cursor range and
  keeps `limit + 1` rows in range plus one representative row outside it, so counts and flags
  survive even when the page itself is empty.
The extra row in range says whether more follow.
"""

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Row

from db.rows import row as plain_row

T = TypeVar("T")


@plain_row  # built for every row of a page: a frozen dataclass's __init__ costs 3x as much
class Keyset:
    """A position in a sort order: the sort key's values, then the row id."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class PageWindow:
    first: int | None = None
    last: int | None = None
    after: Keyset | None = None
    before: Keyset | None = None
    with_total: bool = False

    @property
    def backward(self) -> bool:
        return self.last is not None and self.first is None

    @property
    def limit(self) -> int:
        return self.last if self.backward else self.first  # type: ignore[return-value]


@dataclass(slots=True)
class Page(Generic[T]):
    rows: list[T] = field(default_factory=list)
    keysets: list[Keyset] = field(default_factory=list)
    has_next: bool = False
    has_previous: bool = False
    total: int = 0


@dataclass(frozen=True, slots=True)
class SortKey:
    """Columns in order (the last one unique), all in one direction."""

    columns: tuple[ColumnElement[Any], ...]
    descending: bool = False


def cursor_parameters(window: PageWindow) -> dict[str, Any]:
    """The values of the cursor's bound parameters, by name: `after_0`, `after_1`, ...,
    `before_0`, ... A statement built for one window runs for another of the same shape with
    these."""
    out: dict[str, Any] = {}
    for side, keyset in (("after", window.after), ("before", window.before)):
        if keyset is not None:
            out.update({f"{side}_{i}": value for i, value in enumerate(keyset.values)})
    return out


def _beyond(
    columns: Sequence[ColumnElement[Any]], keyset: Keyset, descending: bool, side: str
) -> Any:
    bound = [
        bindparam(f"{side}_{i}", value, type_=column.type)
        for i, (column, value) in enumerate(zip(columns, keyset.values, strict=True))
    ]
    left, right = tuple_(*columns), tuple_(*bound)
    return left < right if descending else left > right


def _after(columns: Sequence[ColumnElement[Any]], keyset: Keyset, descending: bool) -> Any:
    return _beyond(columns, keyset, descending, "after")


def _before(columns: Sequence[ColumnElement[Any]], keyset: Keyset, descending: bool) -> Any:
    return _beyond(columns, keyset, not descending, "before")


SINGLE_PARENT = 0


def cursor_range(sort: SortKey, window: PageWindow) -> list[Any]:
    parts = []
    if window.after is not None:
        parts.append(_after(sort.columns, window.after, sort.descending))
    if window.before is not None:
        parts.append(_before(sort.columns, window.before, sort.descending))
    return parts


def sort_order(sort: SortKey, window: PageWindow) -> list[Any]:
    reverse = window.backward != sort.descending
    return [c.desc() if reverse else c.asc() for c in sort.columns]


def limited_page_statement(
    rows: Select[Any],
    *,
    sort: SortKey,
    window: PageWindow,
    parent_key: Column[Any] | None = None,
    parents: ColumnElement[bool] | None = None,
    candidates: tuple[Select[Any], SortKey] | None = None,
) -> Select[Any]:
    """Pages of `rows` (filtered, output columns selected), one per parent row.

    With a `parent_key` column, `rows` refers to that column's table, which the statement selects
    where `parents` holds and joins LATERAL to its page; without one, `rows` is a single page.
    `candidates` (a superset of each page, with its own sort key over its own columns) replaces
    `rows` as the page's source; the total and the flags always come from `rows`.
    """
    source, source_sort = candidates or (rows, sort)
    order = sort_order(source_sort, window)
    page_rows = (
        source.add_columns(
            literal_column("1").label("in_range"),
            func.row_number().over(order_by=order).label("rn"),
        )
        .where(*cursor_range(source_sort, window))
        .order_by(*order)
        .limit(window.limit + 1)
    )
    # Correlate explicitly: these sit two SELECTs below the parent's table, beyond the reach of
    # auto-correlation, and would silently count every parent's rows.
    outer = () if parent_key is None else (parent_key.table,)
    meta: list[Any] = []
    if window.with_total:
        count = rows.with_only_columns(func.count(), maintain_column_froms=True)
        meta.append(count.correlate(*outer).scalar_subquery().label("total"))
    if window.after is not None:
        outside = rows.where(~_after(sort.columns, window.after, sort.descending))
        meta.append(exists(outside.correlate(*outer)).label("n_before"))
    if window.before is not None:
        outside = rows.where(~_before(sort.columns, window.before, sort.descending))
        meta.append(exists(outside.correlate(*outer)).label("n_after"))
    if parent_key is None:
        key: Any = literal_column(str(SINGLE_PARENT)).label("parent_key")
        one = select(key, *meta).subquery("one")
        single = page_rows.subquery("page")
        return select(one, single).select_from(one).outerjoin(single, true()).order_by(single.c.rn)
    # Per-parent values live in their own LATERAL so they are computed once per parent, not once
    # per row of its page.
    # OFFSET 0 keeps PostgreSQL from flattening this into the page rows and counting per row.
    facts = select(*meta, literal_column("1").label("one")).offset(0).lateral("facts")
    page = page_rows.lateral("page")
    columns = [parent_key.label("parent_key"), *page.c, *(facts.c[m.name] for m in meta)]
    return (
        select(*columns)
        .select_from(parent_key.table)
        .join(facts, true())
        .outerjoin(page, true())
        .where(parents if parents is not None else true())
        .order_by(parent_key, page.c.rn)
    )


def window_page_statement(
    base: Select[Any], *, parent: ColumnElement[Any] | None, sort: SortKey, window: PageWindow
) -> Select[Any]:
    """Wrap `base` (the filtered rows, any columns) into the page statement for every parent.

    With `parent=None` the whole of `base` is one page, keyed `SINGLE_PARENT`.
    """
    cols = sort.columns
    in_range_parts = cursor_range(sort, window)
    order = sort_order(sort, window)
    by_parent: list[Any] = [] if parent is None else [parent]
    key = literal_column(str(SINGLE_PARENT)) if parent is None else parent
    extra: list[Any] = [key.label("parent_key")]
    partition: list[Any] = list(by_parent)
    if in_range_parts:
        in_range = case((and_(*in_range_parts), 1), else_=0)
        extra.append(in_range.label("in_range"))
        partition.append(in_range)
    extra.append(func.row_number().over(partition_by=partition or None, order_by=order).label("rn"))
    if window.with_total:
        extra.append(func.count().over(partition_by=by_parent or None).label("total"))
    if window.after is not None:
        not_after = case((_after(cols, window.after, sort.descending), 0), else_=1)
        extra.append(func.sum(not_after).over(partition_by=by_parent or None).label("n_before"))
    if window.before is not None:
        not_before = case((_before(cols, window.before, sort.descending), 0), else_=1)
        extra.append(func.sum(not_before).over(partition_by=by_parent or None).label("n_after"))
    inner = base.add_columns(*extra).subquery("page")
    keep = inner.c.rn <= window.limit + 1
    if in_range_parts:
        keep = or_(and_(inner.c.in_range == 1, keep), and_(inner.c.in_range == 0, inner.c.rn == 1))
    return select(inner).where(keep).order_by(inner.c.parent_key, inner.c.rn)


def split_pages(
    result: Sequence[Row[Any]],
    *,
    window: PageWindow,
    to_item: Callable[[Row[Any]], T],
    to_keyset: Callable[[T], Keyset],
) -> dict[Any, Page[T]]:
    """Group the page statement's rows by parent into pages in the caller's order."""
    pages: dict[Any, Page[T]] = {}
    mapping_cache: dict[Any, tuple[int, ...]] = {}
    if not result:
        return pages
    # Columns by position, found once: every row of the statement has the same ones.
    names = result[0]._fields

    def at(name: str) -> int | None:
        return names.index(name) if name in names else None

    parent, in_range = at("parent_key"), at("in_range")
    facts = [at(name) for name in ("total", "n_before", "n_after")]
    for row in result:
        key = row[parent]  # type: ignore[index]
        page = pages.get(key)
        if page is None:
            page = pages[key] = Page()
            mapping_cache[key] = tuple(0 if i is None else int(row[i] or 0) for i in facts)
        if in_range is None or row[in_range] == 1:
            page.rows.append(to_item(row))
    for key, page in pages.items():
        total, n_before, n_after = mapping_cache[key]
        extra = len(page.rows) > window.limit
        del page.rows[window.limit :]
        if window.backward:
            page.rows.reverse()
            page.has_previous = extra or n_before > 0
            page.has_next = n_after > 0
        else:
            page.has_next = extra or n_after > 0
            page.has_previous = n_before > 0
        page.total = total
        page.keysets = [to_keyset(item) for item in page.rows]
    return pages


class Statements:
    """Statements by shape, built on first use and kept (the least recently used dropped past
    `size`): building one costs more CPU than running it (SQLAlchemy constructs and aliases every
    clause), and statements of one shape differ only in their bound values. `values` matches the
    names of the bound parameters that carry a caller's values; any other (a LIMIT) is a constant
    of the shape."""

    def __init__(self, values: "re.Pattern[str]", size: int = 512) -> None:
        self.values = values
        self.size = size
        self.built: OrderedDict[tuple[Any, ...], tuple[Select[Any], frozenset[str]]] = OrderedDict()

    def get(
        self, shape: tuple[Any, ...], build: Callable[[], Select[Any]]
    ) -> tuple[Select[Any], frozenset[str]]:
        """The statement of this shape and the names of its value parameters. Callers pass
        every one of those (`bound`): none may run with the first caller's value."""
        found = self.built.get(shape)
        if found is None:
            stmt = build()
            names = frozenset(n for n in stmt.compile().params if self.values.fullmatch(n))
            found = self.built[shape] = stmt, names
            if len(self.built) > self.size:
                self.built.popitem(last=False)
        else:
            self.built.move_to_end(shape)
        return found


def bound(names: frozenset[str], values: dict[str, Any]) -> dict[str, Any]:
    """The values of a Statements entry's parameters, every one of them."""
    missing = names - values.keys()
    if missing:
        raise RuntimeError(f"no values for bound parameters {sorted(missing)}")
    return {name: values[name] for name in names}


def window_shape(window: PageWindow) -> tuple[Any, ...]:
    """What of a window a statement is built for; the cursor's values are bound."""
    return (
        window.first,
        window.last,
        window.after is not None,
        window.before is not None,
        window.with_total,
    )
