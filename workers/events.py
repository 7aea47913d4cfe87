"""The event stream: committed change rows, in commit order, for subscribers on every instance.

The stream entry id is the change's sequence (`<sequence>-0`), so it doubles as the
subscription cursor, and Redis itself refuses an id at or below the last one: relays that race
to publish the same changes append each exactly once, in order.
"""

import collections
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from db.rows import ChangeRow

STREAM = "gw:v1:changes"
DEFAULT_MAX_LENGTH = 100_000


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


class EventStream(Protocol):
    async def last_sequence(self) -> int: ...

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        """Append the rows not yet in the stream; returns how many were appended."""


class RedisEventStream:
    def __init__(self, client: Redis, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.client = client
        self.max_length = max_length

    async def last_sequence(self) -> int:
        newest = await self.client.xrevrange(STREAM, count=1)
        if not newest or newest[0][0] is None:
            return 0
        entry_id: Any = newest[0][0]
        return int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        appended = 0
        for row in rows:
            try:
                await self.client.xadd(
                    STREAM,
                    {"change": payload(row)},
                    id=f"{row.id}-0",
                    maxlen=self.max_length,
                    approximate=True,
                )
            except ResponseError as error:
                if "equal or smaller" not in str(error):
                    raise
                continue  # another relay appended it first
            appended += 1
        return appended


class MemoryEventStream:
    """The embedded default: the same interface inside one process, bounded the same way."""

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.entries: collections.deque[tuple[int, bytes]] = collections.deque(maxlen=max_length)

    async def last_sequence(self) -> int:
        return self.entries[-1][0] if self.entries else 0

    async def publish(self, rows: Sequence[ChangeRow]) -> int:
        appended = 0
        for row in rows:
            if row.id > await self.last_sequence():
                self.entries.append((row.id, payload(row)))
                appended += 1
        return appended
