"""The base every loader shares: a session factory (never a session) and the optional cache."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

from aiodataloader import DataLoader, Loader

from db.cache import codec, tags
from db.cache.aside import Cache, no_generation
from db.engine import Sessions
from graph.observability.tracing import traced_batches

K = TypeVar("K")
V = TypeVar("V")
CK = TypeVar("CK", bound=Hashable)
CV = TypeVar("CV")


class Identified(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Identified)


async def known_only(known: dict[CK, CV], keys: list[CK]) -> dict[CK, CV]:
    """A `load` for rows another statement already brought: never goes to the database."""
    return {key: known[key] for key in keys if key in known}


class SessionLoader(DataLoader[K, V]):
    # Whether every batch records the generations it read (through `cached`); a loader that
    # does not makes any response it serves uncacheable.
    tagged = True

    def __init__(self, sessions: Sessions, store: Cache | None = None) -> None:
        # DataLoader.__init__'s checks (inspect.iscoroutinefunction on the batch function,
        # every time) cost 5% of a small request, which creates four loaders; the batch
        # functions are methods of this class, and the rest is its defaults.
        self.loop = asyncio.get_running_loop()
        self._cache: dict[Any, asyncio.Future[V]] = {}
        self._queue: list[Loader] = []
        self.sessions = sessions
        # Not `cache`: DataLoader uses that name for its per-request memo switch.
        self.store = store
        tracing = traced_batches()
        if tracing is not None:
            self.batch_load_fn = tracing.traced(type(self).__name__, self.batch_load_fn)

    def load(self, key: K) -> "asyncio.Future[V]":
        """DataLoader's future for `key`, shielded: a caller that is cancelled (graphql-core
        cancels a failed field's siblings; a subscriber leaves) must not cancel the value that
        every other caller of this loader shares. A future cancelled anyway is loaded anew.
        Not asyncio.shield: five Python calls per load; and a done future (a primed row) is
        given as it is, since nothing can cancel it any more."""
        future = self._future(key)
        if future.done():
            return future
        follower: asyncio.Future[V] = self.loop.create_future()
        future.add_done_callback(partial(_follow, follower))
        return follower

    def load_many(self, keys: Iterable[K]) -> "asyncio.Future[list[V]]":
        """Like `load` for each key, shielded once for all of them: a future of its own that
        the shared ones resolve, so cancelling it cancels none of them. Not gather and shield:
        a callback per key cost more than the batch's statement when a level loads hundreds;
        the keys of a batch are resolved together, so one callback usually waits for all."""
        futures = [self._future(key) for key in keys]
        joined: asyncio.Future[list[V]] = self.loop.create_future()
        _join(futures, joined)
        return joined

    async def fetch(self, key: K) -> V:
        """`await load(key)` for a caller whose load no other can join (the only batch of a
        planned level: graph.context.Loaders.alone): a key not loaded yet is loaded in this
        task, without load's dispatch turn, batch task and follower future. As `load`: the
        value is remembered, a failed batch is not, and a key another caller is loading is
        shared (through `load`, so cancelling this caller cancels nobody's value)."""
        future = self._cache.get(key)
        if future is not None and not future.cancelled():
            return future.result() if future.done() else await self.load(key)
        if not self.tagged:
            tags.forbid()
        if key is None:
            raise TypeError(
                "The loader.load() function must be called with a value, but got: None."
            )
        future = self._cache[key] = self.loop.create_future()
        try:
            (value,) = await self.batch_load_fn([key])
        except BaseException:
            if self._cache.get(key) is future:
                del self._cache[key]
            future.cancel()  # nobody else holds it: it was made and dropped in this call
            raise
        if isinstance(value, Exception):
            future.set_exception(value)
            future.exception()  # retrieved: the raise below reports it
            raise value
        future.set_result(value)
        return value

    def primed(self, keys: Sequence[K]) -> list[V] | None:
        """The values of `keys` when every one is loaded already and none failed (rows a
        statement just brought), else None: what `load_many` would give, without its
        futures."""
        if not self.tagged:
            tags.forbid()
        cache = self._cache
        values: list[V] = []
        for key in keys:
            future = cache.get(key)
            if future is None or not future.done() or future.cancelled():
                return None
            if future.exception() is not None:
                return None
            values.append(future.result())
        return values

    def _future(self, key: K) -> "asyncio.Future[V]":
        """DataLoader.load, written out (its checks and get_cache_key were two Python calls per
        key, and a level of 48 products loads 48 keys per relation); a cancelled future is
        loaded anew."""
        if not self.tagged:
            tags.forbid()
        if key is None:
            raise TypeError(
                "The loader.load() function must be called with a value, but got: None."
            )
        cache = self._cache
        future = cache.get(key)
        if future is not None and not future.cancelled():
            return future
        future = cache[key] = self.loop.create_future()
        self.do_resolve_reject(key, future)
        return future

    @staticmethod
    def get_cache_key(key: Any) -> Any:
        # The key itself: `_future` and `prime_all` index the cache by the key directly.
        return key

    def do_resolve_reject(self, key: K, future: "asyncio.Future[V]") -> None:
        """Queues `key` for the next batch. The first key of a batch schedules its dispatch:
        one task for the batch where aiodataloader makes two (a task that starts another),
        taking the queue as late as aiodataloader does (two turns on), so that as many
        callers share a statement."""
        self._queue.append(Loader(key=key, future=future))
        if len(self._queue) == 1:
            self.loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        queue = self._queue
        task = self.loop.create_task(self._batch())
        task.add_done_callback(lambda done: self._settle(done, queue))

    def _settle(self, task: "asyncio.Task[None]", queue: list[Loader]) -> None:
        """Nobody waits forever: callers a batch task left unanswered (cancelled before its
        first step, which never took its queue, or while it ran; at shutdown) are cancelled,
        and the next load starts a new batch."""
        if self._queue is queue:
            self._queue = []
        elif not task.cancelled() and task.exception() is None:
            return
        for loading in queue:
            if not loading.future.done():
                loading.future.cancel()

    async def _batch(self) -> None:
        """aiodataloader's dispatch_queue_batch without its checks of what our own batch
        functions return (an isinstance against typing.Iterable per batch was 1% of a small
        request): one value or exception per key, else every caller gets the error."""
        queue, self._queue = self._queue, []
        try:
            values = await self.batch_load_fn([loading.key for loading in queue])
            if len(values) != len(queue):
                raise TypeError(
                    f"{type(self).__name__} answered {len(values)} values for {len(queue)} keys"
                )
        except Exception as error:
            # As aiodataloader does: a failed batch is not remembered, so a later load retries.
            for loading in queue:
                self.clear(loading.key)
                if not loading.future.done():
                    loading.future.set_exception(error)
            return
        for loading, value in zip(queue, values, strict=True):
            if not loading.future.done():
                if isinstance(value, Exception):
                    loading.future.set_exception(value)
                else:
                    loading.future.set_result(value)

    def prime_missing(self, key: K, value: V) -> None:
        """Prime without replacing a value some caller is already waiting for."""
        self.prime_all(((key, value),))

    def prime_all(self, items: Iterable[tuple[K, V]]) -> None:
        """`prime_missing` for each (key, value): DataLoader.prime written out, since a page
        primes every row it brought (two Python calls a row fewer)."""
        cache, create = self._cache, self.loop.create_future
        for key, value in items:
            if key not in cache:
                future = cache[key] = create()
                if isinstance(value, Exception):
                    future.set_exception(value)
                else:
                    future.set_result(value)

    async def brought(
        self,
        rows: Mapping[K, V],
        *,
        key: Callable[[K], str],
        generation: Callable[[K], str],
    ) -> None:
        """Rows another statement brought: primed here (never replacing a value a caller
        waits for), tagging the response, and kept by the cache as db.cache.aside.Cache.brought
        says. A later load of them finds them primed and runs no batch that would tag them."""
        self.prime_all(rows.items())
        if self.store is None:
            tags.record([generation(k) for k in rows])
        elif rows:
            await self.store.brought(rows, key=key, generation=generation)

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
        tags.record([generation(k) for k in keys])  # a list: no generator resume per key
        if self.store is None:
            loaded = await load(list(keys))
            # Rows the load brought beyond those asked (a category's ancestors) are read too.
            tags.record(generation(k) for k in loaded.keys() - set(keys))
            return loaded
        return await self.store.many(
            keys, key=key, generation=generation, load=load, encode=encode, decode=decode
        )


def _follow(follower: "asyncio.Future[V]", future: "asyncio.Future[V]") -> None:
    """Gives `follower` the outcome of `future`, as asyncio.shield's outer future gets it."""
    if future.cancelled():
        if not follower.done():
            follower.cancel()
        return
    exception = future.exception()  # retrieved either way, so none is reported as lost
    if follower.done():  # its caller has gone
        return
    if exception is not None:
        follower.set_exception(exception)
    else:
        follower.set_result(future.result())


def _join(futures: list["asyncio.Future[V]"], joined: "asyncio.Future[list[V]]") -> None:
    """Resolves `joined` once every future is done: with their results, else the first
    exception in key order (every one is retrieved, as gather does, so none is reported as
    never retrieved), else cancelled if one was."""
    for future in reversed(futures):
        if not future.done():
            future.add_done_callback(lambda _: _join(futures, joined))
            return
    results: list[V] = []
    failure: BaseException | None = None
    cancelled = False
    for future in futures:
        if future.cancelled():
            cancelled = True
            continue
        exception = future.exception()
        if exception is not None:
            failure = failure or exception
        elif failure is None:
            results.append(future.result())
    if joined.done():  # its caller has gone
        return
    if failure is not None:
        joined.set_exception(failure)
    elif cancelled:
        joined.cancel()
    else:
        joined.set_result(results)


def encode_id(value: int) -> bytes:
    return str(value).encode()


class UniqueKeyLoader(SessionLoader[str, R | None]):
    """Rows by a unique text key (a slug, a SKU), through their loader by id. The cache keeps
    key -> id only: an id whose row no longer has that key is a miss, so a renamed key needs no
    invalidation of its own. Subclasses say how to read rows by key (priming `by_id`)."""

    def __init__(
        self,
        sessions: Sessions,
        by_id: SessionLoader[int, R | None],
        store: Cache | None,
        *,
        cache_key: Callable[[str], str],
        key_of: Callable[[R], str],
        absent: str,
    ) -> None:
        super().__init__(sessions, store)
        self.by_id = by_id
        self.cache_key = cache_key
        self.key_of = key_of
        # The generation a write bumps when it may give a row a key that no row had.
        self.absent = absent

    async def rows(self, keys: list[str]) -> list[R]:
        raise NotImplementedError

    async def batch_load_fn(self, keys: Sequence[str]) -> list[R | None]:
        async def load(wanted: list[str]) -> dict[str, int]:
            return {self.key_of(row): row.id for row in await self.rows(wanted)}

        ids = await self.cached(
            keys,
            key=self.cache_key,
            generation=no_generation,
            load=load,
            decode=int,
            encode=encode_id,
        )
        wanted = [ids[key] for key in keys if key in ids]
        rows = self.by_id.primed(wanted)
        if rows is None:
            rows = await self.by_id.load_many(wanted)
        found = {self.key_of(row): row for row in rows if row is not None}
        stale = [key for key in keys if key in ids and key not in found]
        if stale:
            found.update({self.key_of(row): row for row in await self.rows(stale)})
        if any(key not in found for key in keys):
            # A key no row has now, whatever the cache said (a renamed slug): any write that
            # gives a row that key must drop this answer. (Not a count: `found` is keyed by each
            # row's key today, which for a stale entry is another key.)
            tags.record((self.absent,))
        return [found.get(key) for key in keys]
