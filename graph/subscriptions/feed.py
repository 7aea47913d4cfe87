"""One subscriber's events: what it missed since its cursor, then live ones, each exactly once.

The subscriber is registered with the hub BEFORE the replay starts, so events published
meanwhile wait in its queue; the replay reads everything after the cursor that exists now;
anything at or below the last sequence already yielded is skipped. Together: no gap, no
duplicate, commit order throughout.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.queries.changes import changes_after
from db.rows import ChangeRow
from graph.subscriptions.hub import Batch, Delivery, EventHub, Matcher

REPLAY_PAGE = 200


async def _missed(
    hub: EventHub, sessions: async_sessionmaker[Any], after: int
) -> AsyncIterator[list[ChangeRow]]:
    """Pages of changes above `after`: from the stream while it still holds the next one (it
    is trimmed from the oldest end), otherwise from the change table, the source of truth."""
    while True:
        oldest = await hub.stream.oldest_sequence()
        if oldest is not None and oldest <= after + 1:
            rows = await hub.stream.read(after, REPLAY_PAGE)
        else:
            async with sessions() as session:
                rows = await changes_after(session=session, after=after, limit=REPLAY_PAGE)
        if rows:
            yield rows
        if len(rows) < REPLAY_PAGE:
            return
        after = rows[-1].id


async def follow(
    hub: EventHub,
    sessions: async_sessionmaker[Any],
    entity_type: str,
    matches: Matcher,
    after: int | None = None,
    initial: Callable[[], Awaitable[ChangeRow | None]] | None = None,
) -> AsyncGenerator[Delivery, None]:
    """`after`: replay what followed that sequence first. `initial`: a change to send first
    (read once the subscriber is registered), such as a job's latest."""
    subscriber = hub.subscribe(entity_type, matches)
    try:
        last = 0
        first = None if initial is None else await initial()
        if first is not None:
            last = first.id
            yield Delivery(first, Batch(hub.make_loaders))
        if after is not None:
            last = after
            async for rows in _missed(hub, sessions, after):
                batch = Batch(hub.make_loaders)
                for row in rows:
                    if row.id > last and row.entity_type == entity_type and matches(row):
                        last = row.id
                        yield Delivery(row, batch)
                last = max(last, rows[-1].id)
        while True:
            delivery = await subscriber.next()
            if delivery.row.id > last:
                last = delivery.row.id
                yield delivery
    finally:
        hub.unsubscribe(subscriber)
