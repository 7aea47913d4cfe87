"""The event stream: committed change rows, in commit order, for subscribers on every instance.

The stream entry id is the change's sequence (`<sequence>-0`), so it doubles as the
subscription cursor, and Redis itself refuses an id at or below the last one: publishers that
race to append the same changes append each exactly once, in order. A publisher appends only
rows it read in one snapshot after the stream's last id, and sequences are taken in commit
order (db.writes.unit), so no publisher can skip a change another has not appended yet.
"""

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.queries.changes import changes_after, latest_change_id
from db.rows import ChangeRow

log = logging.getLogger(__name__)
STREAM = "gw:v1:changes"
DEFAULT_MAX_LENGTH = 100_000
# ARGV: max length, then id and payload per change, in order. Skips ids the stream already has
# (another publisher appended them first); any other error ends the script there.
APPEND_IN_ORDER = """
local appended = 0
for i = 2, #ARGV, 2 do
  local ok, err = pcall(redis.call, 'XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i],
                        'change', ARGV[i + 1])
  if ok then
    appended = appended + 1
  elseif not string.find(tostring(err.err or err), 'equal or smaller', 1, true) then
    return redis.error_reply(tostring(err.err or err))
  end
end
return appended
"""


def payload(row: ChangeRow) -> bytes:
    return orjson.dumps(
        {
            "sequence": row.id,
            "entityType": row.entity_type,
            "entityId": row.entity_id,
            "kind": str(row.kind),
            "changedFields": row.changed_fields,
            "categoryIds": row.category_ids,
            "actor": row.actor,
            "occurredAt": row.occurred_at,
            "values": row.values,
        }
    )


def decode(data: bytes) -> ChangeRow:
    fields = orjson.loads(data)
    return ChangeRow(
        id=fields["sequence"],
        entity_type=fields["entityType"],
        entity_id=fields["entityId"],
        kind=fields["kind"],
        changed_fields=fields["changedFields"],
        category_ids=fields["categoryIds"],
        actor=fields["actor"],
        occurred_at=datetime.fromisoformat(fields["occurredAt"]),
        values=fields["values"],
    )


class EventStream(Protocol):
    # A new stream starts with at most this many of the newest changes.
    max_length: int

    async def last_sequence(self) -> int: ...

    async def oldest_sequence(self) -> int | None:
        """The first change the stream still holds; None if it is empty."""

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        """Append the rows not yet in the stream; returns how many were appended."""

    async def read(self, after: int, count: int, block_seconds: float = 0) -> list[ChangeRow]:
        """Up to `count` changes above `after`, oldest first; waits up to `block_seconds` for
        the first one when there are none yet."""


async def publish_committed(
    sessions: async_sessionmaker[Any], events: EventStream, batch_size: int
) -> int:
    """Append committed change rows the stream does not hold yet; returns how many."""
    after = await events.last_sequence()
    async with sessions() as session:
        if after == 0:
            # A new (or lost) stream: start with the newest changes it should hold, not with
            # the whole history; resuming subscribers read older ones from the table.
            after = max(0, await latest_change_id(session=session) - events.max_length)
        rows = await changes_after(session=session, after=after, limit=batch_size)
    return await events.publish(rows)


def _sequence(entry_id: Any) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-")[0])


class RedisEventStream:
    def __init__(self, client: Redis, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.client = client
        self.max_length = max_length

    async def last_sequence(self) -> int:
        """The last id ever appended, even if trimming has emptied the stream since."""
        try:
            info: Any = await self.client.xinfo_stream(STREAM)
        except ResponseError as error:
            if "no such key" not in str(error):
                raise
            return 0
        return _sequence(info["last-generated-id"])

    async def oldest_sequence(self) -> int | None:
        oldest = await self.client.xrange(STREAM, count=1)
        return _sequence(oldest[0][0]) if oldest else None

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        if not rows:
            return 0
        arguments: list[Any] = [self.max_length]
        for row in rows:
            arguments += [f"{row.id}-0", payload(row)]
        # One round trip. A script, not a pipeline: it stops at the first failure, so a later
        # change can never be appended past an earlier one that failed (and would then be
        # refused for good as "equal or smaller" than the stream's last id).
        appended: Any = await self.client.eval(APPEND_IN_ORDER, 1, STREAM, *arguments)
        return int(appended)

    async def read(self, after: int, count: int, block_seconds: float = 0) -> list[ChangeRow]:
        block = int(block_seconds * 1000) or None
        found: Any = await self.client.xread({STREAM: f"{after}-0"}, count=count, block=block)
        if not found:
            return []
        _, entries = found[0]
        return [decode(fields[b"change"]) for _, fields in entries]


class MemoryEventStream:
    """The embedded default: the same interface inside one process, bounded the same way."""

    def __init__(
        self,
        max_length: int = DEFAULT_MAX_LENGTH,
        last_id: int = 0,
        newest_change: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        """The stream lives and dies with the process, so it starts at the change log's newest
        sequence rather than refilling history: `last_id`, or what `newest_change` says when
        first asked. Asked, not told at start-up: the database may be down then, and every
        caller (the relay, the hub) retries until it answers."""
        self.max_length = max_length
        self.last_id = last_id
        self.newest_change = newest_change
        self.entries: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=max_length)
        self._appended = asyncio.Event()

    async def last_sequence(self) -> int:
        if self.newest_change is not None:
            self.last_id = max(self.last_id, await self.newest_change())
            self.newest_change = None
        return self.last_id

    async def oldest_sequence(self) -> int | None:
        return self.entries[0][0] if self.entries else None

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        appended = 0
        for row in rows:
            if row.id > self.last_id:
                self.entries.append((row.id, payload(row)))
                self.last_id = row.id
                appended += 1
        if appended:
            self._appended.set()
            self._appended = asyncio.Event()
        return appended

    def _after(self, after: int, count: int) -> list[ChangeRow]:
        newer: list[bytes] = []
        for sequence, data in reversed(self.entries):
            if sequence <= after:
                break
            newer.append(data)
        return [decode(data) for data in reversed(newer[-count:])]

    async def read(self, after: int, count: int, block_seconds: float = 0) -> list[ChangeRow]:
        found = self._after(after, count)
        if found or block_seconds <= 0:
            return found
        appended = self._appended
        try:
            async with asyncio.timeout(block_seconds):
                await appended.wait()
        except TimeoutError:
            return []
        return self._after(after, count)
