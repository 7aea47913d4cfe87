"""Category lookups. A lookup also returns each category's ancestors, found by its path."""

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.direct import generic_plan
from db.lists import one_of
from db.models import categories
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
from db.read_session import read_rows
from db.rows import CategoryRow, reader

COLUMNS = tuple(categories.c)


def path_upper(path: ColumnElement[str]) -> ColumnElement[str]:
    """The smallest string above every path in the subtree: "/1/5/" -> "/1/50" ('0' follows '/')."""
    return func.substr(path, 1, func.length(path) - 1).concat("0")


def in_subtree(path: ColumnElement[str], root_path: ColumnElement[str]) -> ColumnElement[bool]:
    return (path >= root_path) & (path < path_upper(root_path))


to_row = reader(CategoryRow, COLUMNS)


def _with_ancestors() -> tuple[Select[Any], Select[Any]]:
    ancestor = categories.alias("ancestor")
    target = categories.alias("target")
    # In path order (roots first): without an order, a generic and a custom plan of it gave
    # the same rows in different orders.
    stmt = (
        select(*(ancestor.c[c.name] for c in COLUMNS))
        .distinct()
        .join_from(ancestor, target, in_subtree(target.c.path, ancestor.c.path))
        .order_by(ancestor.c.path)
    )
    return (
        generic_plan(stmt.where(one_of(target.c.id, "ids"))),
        generic_plan(stmt.where(one_of(target.c.slug, "slugs"))),
    )


# Built once: building aliased statements per call was a measurable share of a lookup's CPU.
_WITH_ANCESTORS_BY_ID, _WITH_ANCESTORS_BY_SLUG = _with_ancestors()


async def categories_with_ancestors(
    *, session: AsyncSession, ids: Sequence[int] = (), slugs: Sequence[str] = ()
) -> list[CategoryRow]:
    """The categories with these ids or slugs and all their ancestors, in one statement."""
    if ids:
        result = await read_rows(session, _WITH_ANCESTORS_BY_ID, {"ids": list(ids)})
    else:
        result = await read_rows(session, _WITH_ANCESTORS_BY_SLUG, {"slugs": list(slugs)})
    return [to_row(row) for row in result]


_CHILDREN = generic_plan(
    select(*COLUMNS)
    .where(one_of(categories.c.parent_id, "parent_ids"))
    .order_by(categories.c.position, categories.c.name, categories.c.id)
)


async def children_by_parent_ids(
    *, session: AsyncSession, parent_ids: Sequence[int]
) -> list[CategoryRow]:
    result = await read_rows(session, _CHILDREN, {"parent_ids": list(parent_ids)})
    return [to_row(row) for row in result]


CATEGORY_SORT = SortKey(
    columns=(categories.c.level, categories.c.position, categories.c.name, categories.c.id)
)


def category_keyset(row: CategoryRow) -> Keyset:
    return Keyset((row.level, row.position, row.name, row.id))


def _category_base(*, parent: bool, roots_only: bool) -> Select[Any]:
    stmt = select(*COLUMNS)
    if parent:
        stmt = stmt.where(categories.c.parent_id == bindparam("category_parent"))
    if roots_only:
        stmt = stmt.where(categories.c.parent_id.is_(None))
    return stmt


_PAGES = Statements(re.compile(r"category_parent|(after|before)_[0-9]+"))


async def category_page(
    *, session: AsyncSession, window: PageWindow, parent_id: int | None, roots_only: bool
) -> Page[CategoryRow]:
    parent = parent_id is not None
    stmt, names = _PAGES.get(
        (window_shape(window), parent, roots_only),
        lambda: limited_page_statement(
            _category_base(parent=parent, roots_only=roots_only),
            sort=CATEGORY_SORT,
            window=window,
        ),
    )
    values = cursor_parameters(window) | {"category_parent": parent_id}
    rows = await read_rows(session, stmt, bound(names, values))
    pages = split_pages(rows, window=window, to_item=to_row, to_keyset=category_keyset)
    return pages.get(SINGLE_PARENT, Page())
