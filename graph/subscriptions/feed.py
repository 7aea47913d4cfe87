"""One subscriber's events: what it missed since its cursor, then live ones, each exactly once.

The subscriber is registered with the hub BEFORE the replay starts, so events published
meanwhile wait in its queue; the replay reads everything after the cursor that exists now;
anything at or below the last sequence already yielded is skipped. Together: no gap, no
duplicate, commit order throughout.
"""

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from db.engine import Sessions
from db.queries.changes import changes_after
from db.rows import ChangeRow
from graph.subscriptions.hub import Delivery, EventHub, Matcher, Watch
from workers.events import EventStream

log = logging.getLogger(__name__)
REPLAY_PAGE = 200
READY_TIMEOUT_SECONDS = 5.0


def _holds(oldest: int | None, after: int) -> bool:
    """Whether a stream whose oldest entry is `oldest` still has everything after `after`
    (it is trimmed from the oldest end)."""
    return oldest is not None and oldest <= after + 1


async def _stream_page(stream: EventStream, after: int) -> list[ChangeRow] | None:
    """A page of the stream after `after`; None if it no longer holds them (checked again
    after the read, since a trim may land in between) or cannot be read."""
    try:
        if not _holds(await stream.oldest_sequence(), after):
            return None
        rows = await stream.read(after, REPLAY_PAGE)
        return rows if _holds(await stream.oldest_sequence(), after) else None
    except Exception as error:  # the stream is unavailable: the change table answers
        log.warning("replaying from the change table, the stream failed: %r", error)
        return None


async def _missed(hub: EventHub, sessions: Sessions, after: int) -> AsyncIterator[list[ChangeRow]]:
    """Pages of changes above `after`: from the stream while it has them, then from the change
    table, the source of truth, which always has the last word: the stream may lag the log
    (a relay has not appended the newest yet, or a lost stream is being refilled)."""
    while (rows := await _stream_page(hub.stream, after)) is not None:
        if rows:
            yield rows
            after = rows[-1].id
        if len(rows) < REPLAY_PAGE:
            break
    while True:
        async with sessions() as session:
            rows = await changes_after(session=session, after=after, limit=REPLAY_PAGE)
        if rows:
            yield rows
            after = rows[-1].id
        if len(rows) < REPLAY_PAGE:
            return


async def follow(
    hub: EventHub,
    sessions: Sessions,
    entity_type: str,
    matches: Matcher,
    after: int | None = None,
    initial: Callable[[], Awaitable[ChangeRow | None]] | None = None,
    watch: Watch = None,
) -> AsyncGenerator[Delivery, None]:
    """`after`: replay what followed that sequence first. `initial`: a change to send first
    (read once the subscriber is registered), such as a job's latest."""
    await hub.ready(READY_TIMEOUT_SECONDS)
    subscriber = hub.subscribe(entity_type, matches, watch)
    try:
        last = 0
        first = None if initial is None else await initial()
        if first is not None:
            last = first.id
            yield Delivery(first, hub.batch())
        if after is not None:
            last = after
            async for rows in _missed(hub, sessions, after):
                batch = hub.batch()
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
