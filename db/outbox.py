"""The relay's side of the outbox: claim committed rows, then mark them sent or deferred."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import outbox
from db.rows import OutboxRow, reader

COLUMNS = tuple(outbox.c)


to_row = reader(OutboxRow, COLUMNS)


async def claim(*, session: AsyncSession, limit: int, now: datetime) -> list[OutboxRow]:
    """Pending rows, locked until the caller's transaction ends; other relays skip them."""
    stmt = (
        select(*COLUMNS)
        .where(outbox.c.sent_at.is_(None), outbox.c.available_at <= now)
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [to_row(row) for row in await session.execute(stmt)]


async def mark_sent(*, session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    if ids:
        await session.execute(update(outbox).where(outbox.c.id.in_(ids)).values(sent_at=now))


async def defer(
    *, session: AsyncSession, rows: Sequence[OutboxRow], error: str, until: datetime
) -> None:
    for row in rows:
        await session.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(available_at=until, attempts=row.attempts + 1, last_error=error[:2000])
        )


async def pending_count(*, session: AsyncSession) -> int:
    """Rows not handed to the broker yet, whether due now or deferred after a failure."""
    stmt = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    return int((await session.execute(stmt)).scalar_one())
