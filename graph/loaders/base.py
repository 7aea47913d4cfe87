"""The base every loader shares: a session factory (never a session) and the optional cache."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.cache import codec, tags
from db.cache.aside import Cache
from graph.observability.tracing import traced_batches

K = TypeVar("K")
V = TypeVar("V")
CK = TypeVar("CK", bound=Hashable)
CV = TypeVar("CV")


async def known_only(known: dict[CK, CV], keys: list[CK]) -> dict[CK, CV]:
    """A `load` for rows another statement already brought: never goes to the database."""
    return {key: known[key] for key in keys if key in known}


class SessionLoader(DataLoader[K, V]):
    # Whether every batch records the generations it read (through `cached`); a loader that
    # does not makes any response it serves uncacheable.
    tagged = True

    def __init__(self, sessions: async_sessionmaker[Any], store: Cache | None = None) -> None:
        super().__init__()
        self.sessions = sessions
        # Not `cache`: DataLoader uses that name for its per-request memo switch.
        self.store = store
        tracing = traced_batches()
        if tracing is not None:
            self.batch_load_fn = tracing.traced(type(self).__name__, self.batch_load_fn)

    def load(self, key: K) -> "asyncio.Future[V]":
        """DataLoader's future for `key`, shielded: a caller that is cancelled (graphql-core
        cancels a failed field's siblings; a subscriber leaves) must not cancel the value that
        every other caller of this loader shares. A future cancelled anyway is loaded anew."""
        if not self.tagged:
            tags.forbid()
        future = super().load(key)
        if future.cancelled():
            self.clear(key)
            future = super().load(key)
        return asyncio.shield(future)

    def prime_missing(self, key: K, value: V) -> None:
        """Prime without replacing a value some caller is already waiting for."""
        if self.get_cache_key(key) not in self._cache:
            self.prime(key, value)

    async def cached(
        self,
        keys: Sequence[CK],
        *,
        key: Callable[[CK], str],
        generation: Callable[[CK], str],
        load: Callable[[list[CK]], Awaitable[dict[CK, CV]]],
        decode: Callable[[bytes], CV],
        encode: Callable[[CV], bytes] = codec.encode,
    ) -> dict[CK, CV]:
        """The batch through the cache when there is one: one MGET, misses from one `load`."""
        tags.record(generation(k) for k in keys)
        if self.store is None:
            return await load(list(keys))
        return await self.store.many(
            keys, key=key, generation=generation, load=load, encode=encode, decode=decode
        )
