"""The change log, oldest first: an audit trail and, later, the feed that events replay."""

from sqlalchemy import func, select
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
from db.rows import ChangeRow, reader

COLUMNS = tuple(changes.c)
CHANGE_SORT = SortKey(columns=(changes.c.id,))


to_row = reader(ChangeRow, COLUMNS)


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


async def latest_change_id(*, session: AsyncSession) -> int:
    """The sequence of the newest committed change; 0 for an empty log."""
    return int((await session.execute(select(func.max(changes.c.id)))).scalar_one() or 0)


async def latest_change_of(
    *, session: AsyncSession, entity_type: str, entity_id: int
) -> ChangeRow | None:
    """The newest change of one entity (ix_changes_entity answers it from the index)."""
    stmt = (
        select(*COLUMNS)
        .where(changes.c.entity_type == entity_type, changes.c.entity_id == entity_id)
        .order_by(changes.c.id.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else to_row(row)
