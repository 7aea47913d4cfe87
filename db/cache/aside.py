"""Cache-aside for the loaders' batches: one MGET, misses from one load, one guarded write-back.

Concurrent misses of the same key in this process share one load (no stampede), whatever
request or loader asked first.

A cache that may hold what a lost invalidation left behind is *suspect*: reads bypass it
entirely until the change-log follower (db.cache.follower) has applied every change committed
up to the moment Redis answered again. Any Redis failure makes it suspect.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from db.batching import Coalesced
from db.cache import codec, keys, tags
from db.cache.backend import CacheBackend, Entry

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_TTL = 300
log = logging.getLogger(__name__)


class Cache:
    def __init__(self, backend: CacheBackend, ttl: int = DEFAULT_TTL) -> None:
        self.backend = backend
        self.ttl = ttl
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self.suspect = False
        # Bumped by every distrust: the follower trusts the cache again only for the latest.
        self.distrusts = 0
        # Only a followed cache distrusts itself: nothing else would ever trust it again.
        self.followed = False
        # Concurrent checks of cached responses' generations share one MGET.
        self._current: Coalesced[bytes | None] = Coalesced(self._current_now)
        backend.on_failure(self._failed)

    def _failed(self) -> None:
        if self.followed:
            self.distrust()

    def distrust(self) -> None:
        if not self.suspect:
            log.warning("the cache may be stale; reading the database until it has caught up")
        self.suspect = True
        self.distrusts += 1

    def trust(self, distrusts: int) -> None:
        """Trusted again, unless it was distrusted after `distrusts` (the follower's view)."""
        if self.suspect and distrusts == self.distrusts:
            log.warning("the cache has caught up with the change log; reading it again")
            self.suspect = False

    @property
    def stats(self) -> dict[str, int | bool]:
        return self.backend.stats.as_dict()

    async def many(
        self,
        wanted: Sequence[K],
        *,
        key: Callable[[K], str],
        generation: Callable[[K], str],
        load: Callable[[list[K]], Awaitable[dict[K, V]]],
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
    ) -> dict[K, V]:
        """Values for `wanted` (absent keys left out), from the cache or one call of `load`.

        The first caller for a key reads the cache and, on a miss, loads it; callers that ask
        for the same key meanwhile wait for that result instead of reading or loading again.
        """
        loop = asyncio.get_running_loop()
        owned: dict[K, asyncio.Future[Any]] = {}
        waiting: list[tuple[K, asyncio.Future[Any]]] = []
        for k in dict.fromkeys(wanted):
            pending = self._inflight.get(key(k))
            if pending is not None:
                waiting.append((k, pending))
            else:
                owned[k] = self._inflight[key(k)] = loop.create_future()
        found: dict[K, V] = {}
        try:
            if owned:
                found = await self._read_through(list(owned), key, generation, load, encode, decode)
            for k, future in owned.items():
                future.set_result(found.get(k))
        except BaseException as error:
            for future in owned.values():
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # marked retrieved: each waiter re-raises it itself
            raise
        finally:
            for k in owned:
                self._inflight.pop(key(k), None)
        for k, pending in waiting:
            shared: V | None = await asyncio.shield(pending)
            if shared is not None:
                found[k] = shared
        return found

    async def _read_through(
        self,
        wanted: list[K],
        key: Callable[[K], str],
        generation: Callable[[K], str],
        load: Callable[[list[K]], Awaitable[dict[K, V]]],
        encode: Callable[[V], bytes],
        decode: Callable[[bytes], V],
    ) -> dict[K, V]:
        if self.suspect:  # still one load per key: only the cache itself is skipped
            self.backend.stats.bypassed += 1
            loaded = await load(wanted)
            await self._brought_beyond(wanted, loaded, key, generation, encode)
            return loaded
        cache_keys = [key(k) for k in wanted]
        generation_keys = [generation(k) for k in wanted]
        raw = await self.backend.mget(cache_keys + generation_keys)
        generations = raw[len(wanted) :]
        tags.stamp(generation_keys, generations)
        found: dict[K, V] = {}
        missing: list[int] = []
        stats = self.backend.stats
        for index, k in enumerate(wanted):
            cached = raw[index]
            if cached is None:
                stats.misses += 1
                missing.append(index)
            else:
                stats.hits += 1
                found[k] = decode(cached)
        if missing:
            loaded = await load([wanted[i] for i in missing])
            entries = [
                Entry(
                    cache_keys[i],
                    encode(loaded[wanted[i]]),
                    generation_keys[i],
                    generations[i] or b"",
                )
                for i in missing
                if wanted[i] in loaded
            ]
            if entries:
                await self.backend.set_if_generation(entries, self.ttl)
            await self._brought_beyond(wanted, loaded, key, generation, encode)
            found.update(loaded)
        return found

    async def _brought_beyond(
        self,
        wanted: list[K],
        loaded: dict[K, V],
        key: Callable[[K], str],
        generation: Callable[[K], str],
        encode: Callable[[V], bytes],
    ) -> None:
        """Rows the load brought beyond those asked (a category's ancestors) are `brought`."""
        extra = {k: loaded[k] for k in loaded.keys() - set(wanted)}
        if extra:
            await self.brought(extra, key=key, generation=generation, encode=encode)

    async def brought(
        self,
        rows: Mapping[K, V],
        *,
        key: Callable[[K], str],
        generation: Callable[[K], str],
        encode: Callable[[V], bytes] = codec.encode,
    ) -> None:
        """Rows a statement brought for another lookup (a product found by its slug, a
        category's ancestors), known only after it ran: they tag the response; since their
        generations are read after the statement, they vouch for it (a shared response is
        checked against them) and are cached only where none was ever bumped (a write between
        the statement and this read would otherwise pass for a newer row)."""
        generation_keys = [generation(k) for k in rows]
        tags.record(generation_keys)
        values = await self.current(generation_keys)
        if values is None:
            return
        if all(value is None for value in values):
            tags.stamp(generation_keys, values)
        entries = [Entry(key(k), encode(v), generation(k), b"") for k, v in rows.items()]
        if entries:
            await self.backend.set_if_generation(entries, self.ttl)

    async def generations(self, generation_keys: Sequence[str]) -> list[bytes | None]:
        if self.suspect:  # the pages they would key are not read
            return [None] * len(generation_keys)
        values = await self.backend.mget(generation_keys)
        tags.stamp(generation_keys, values)
        return values

    async def current(self, generation_keys: Sequence[str]) -> list[bytes | None] | None:
        """The generations now, for checking a stamp; None when the cache cannot say."""
        if self.suspect or not generation_keys:
            return None if self.suspect else []
        return await self._current.read(generation_keys)

    async def _current_now(self, generation_keys: list[str]) -> list[bytes | None] | None:
        stats = self.backend.stats
        before = (stats.errors, stats.skipped)
        values = await self.backend.mget(generation_keys)
        return None if (stats.errors, stats.skipped) != before else values

    async def invalidate(self, delete: Sequence[str], bump: Sequence[str]) -> None:
        await self.backend.invalidate(delete, bump)

    async def probe(self) -> bool:
        """Whether the backend answers now."""
        return await self.backend.probe()

    async def close(self) -> None:
        await self.backend.close()


def no_generation(_: Any) -> str:
    return keys.NO_GENERATION
