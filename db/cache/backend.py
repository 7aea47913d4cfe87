"""Two backends with one interface, and the circuit breaker that keeps a sick Redis out of the way.

Every operation is best effort: a failure counts as a miss (reads) or is skipped (writes), so a
request never fails or waits for the cache longer than its short socket timeout.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from db.cache.breaker import Breaker

log = logging.getLogger(__name__)

# Writes the value only if the generation key still holds what the reader saw before it went to
# SQL: a reader that raced a write cannot put the old row back after the write invalidated it.
CAS_SET = """
for i = 1, #KEYS, 2 do
  local current = redis.call('GET', KEYS[i + 1]) or ''
  if current == ARGV[i + 1] then
    redis.call('SET', KEYS[i], ARGV[i], 'EX', ARGV[#ARGV])
  end
end
return 1
"""


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    skipped: int = 0
    # Reads that went to the database because the cache was suspect.
    bypassed: int = 0
    breaker_open: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "errors": self.errors,
            "skipped": self.skipped,
            "bypassed": self.bypassed,
            "breakerOpen": self.breaker_open,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A value to write back, guarded by the generation its reader saw."""

    key: str
    value: bytes
    generation_key: str
    generation: bytes


class CacheBackend(Protocol):
    stats: CacheStats

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set_if_generation(self, entries: Sequence[Entry], ttl: int) -> None: ...

    async def invalidate(self, delete: Sequence[str], bump: Sequence[str]) -> None: ...

    async def close(self) -> None: ...

    def on_failure(self, callback: Callable[[], None]) -> None:
        """`callback` runs whenever an operation fails (its effect may be lost)."""

    async def probe(self) -> bool: ...


@dataclass(slots=True)
class MemoryBackend:
    """TTL + LRU map for one process (the embedded default). Locked: in-process jobs invalidate
    it from their own thread."""

    max_entries: int = 50_000
    stats: CacheStats = field(default_factory=CacheStats)
    _data: OrderedDict[str, tuple[float, bytes]] = field(default_factory=OrderedDict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def _get(self, key: str) -> bytes | None:
        found = self._data.get(key)
        if found is None:
            return None
        expires, value = found
        if expires < time.monotonic():
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return value

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:
            return [self._get(key) for key in keys]

    async def set_if_generation(self, entries: Sequence[Entry], ttl: int) -> None:
        with self._lock:
            self._set_if_generation(entries, ttl)

    def _set_if_generation(self, entries: Sequence[Entry], ttl: int) -> None:
        expires = time.monotonic() + ttl
        for entry in entries:
            if (self._get(entry.generation_key) or b"") == entry.generation:
                self._data[entry.key] = (expires, entry.value)
                self._data.move_to_end(entry.key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    async def invalidate(self, delete: Sequence[str], bump: Sequence[str]) -> None:
        with self._lock:
            self._invalidate(delete, bump)

    def _invalidate(self, delete: Sequence[str], bump: Sequence[str]) -> None:
        forever = float("inf")
        for key in delete:
            self._data.pop(key, None)
        for key in bump:
            current = int(self._get(key) or 0)
            self._data[key] = (forever, str(current + 1).encode())

    async def close(self) -> None:
        self._data.clear()

    def on_failure(self, callback: Callable[[], None]) -> None:
        return None  # nothing of it can be lost

    async def probe(self) -> bool:
        return True


class RedisBackend:
    """Redis with short timeouts and no retries; a breaker skips it for a while after a failure
    and lets one probe through after that, so recovery needs no restart."""

    def __init__(self, client: Redis, *, cooldown: float = 1.0) -> None:
        self.client = client
        self.stats = CacheStats()
        self.breaker = Breaker("Redis cache (reading from the database meanwhile)", log, cooldown)
        self._cas = client.register_script(CAS_SET)
        self._failure_callbacks: list[Callable[[], None]] = []

    def on_failure(self, callback: Callable[[], None]) -> None:
        self._failure_callbacks.append(callback)

    def _available(self) -> bool:
        available = self.breaker.available()
        self.stats.skipped = self.breaker.skipped
        return available

    def _failed(self, error: Exception) -> None:
        self.breaker.failed(error)
        self.stats.errors = self.breaker.errors
        self.stats.breaker_open = True
        for callback in self._failure_callbacks:
            callback()

    def _succeeded(self) -> None:
        self.breaker.succeeded()
        self.stats.breaker_open = False

    async def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys or not self._available():
            return [None] * len(keys)
        try:
            values = cast(list[bytes | None], await self.client.mget(list(keys)))
        except (RedisError, OSError) as error:
            self._failed(error)
            return [None] * len(keys)
        self._succeeded()
        return values

    async def set_if_generation(self, entries: Sequence[Entry], ttl: int) -> None:
        if not entries or not self._available():
            return
        keys: list[str] = []
        args: list[bytes | int] = []
        for entry in entries:
            keys += [entry.key, entry.generation_key]
            args += [entry.value, entry.generation]
        try:
            await self._cas(keys=keys, args=[*args, ttl])
        except (RedisError, OSError) as error:
            self._failed(error)

    async def invalidate(self, delete: Sequence[str], bump: Sequence[str]) -> None:
        """Not skipped by the breaker: a stale entry outliving its write is worse than a slow
        write. A failure makes the cache suspect; the change-log follower applies it again."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for key in bump:
                    pipe.incr(key)
                if delete:
                    pipe.delete(*delete)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed(error)

    async def probe(self) -> bool:
        try:
            await self.client.ping()
        except (RedisError, OSError) as error:
            self._failed(error)
            return False
        self._succeeded()
        return True

    async def close(self) -> None:
        await self.client.aclose()
