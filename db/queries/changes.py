"""The change log, oldest first: an audit trail and, later, the feed that events replay."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import changes
from db.pagination import (
    SINGLE_PARENT,
    Keyset,
    Page,
    PageWindow,
    SortKey,
    limited_page_statement,
    split_pages,
)
from db.rows import ChangeRow

COLUMNS = tuple(changes.c)
CHANGE_SORT = SortKey(columns=(changes.c.id,))


def to_row(row: Row[Any]) -> ChangeRow:
    m = row._mapping
    return ChangeRow(**{c.name: m[c.name] for c in COLUMNS})


def change_keyset(row: ChangeRow) -> Keyset:
    return Keyset((row.id,))


async def change_page(*, session: AsyncSession, window: PageWindow) -> Page[ChangeRow]:
    stmt = limited_page_statement(select(*COLUMNS), sort=CHANGE_SORT, window=window)
    rows = (await session.execute(stmt)).all()
    pages = split_pages(rows, window=window, to_item=to_row, to_keyset=change_keyset)
    return pages.get(SINGLE_PARENT, Page())


async def change_by_id(*, session: AsyncSession, change_id: int) -> ChangeRow | None:
    row = (await session.execute(select(*COLUMNS).where(changes.c.id == change_id))).first()
    return None if row is None else to_row(row)


async def changes_after(*, session: AsyncSession, after: int, limit: int) -> list[ChangeRow]:
    """Committed changes with a sequence above `after`, oldest first."""
    stmt = select(*COLUMNS).where(changes.c.id > after).order_by(changes.c.id).limit(limit)
    return [to_row(row) for row in await session.execute(stmt)]
