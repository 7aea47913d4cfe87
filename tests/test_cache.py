"""The cache layer on its own: both backends, the write-back guard, stampedes, a sick Redis."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from db.cache import tags
from db.cache.aside import Cache
from db.cache.backend import CacheBackend, MemoryBackend, RedisBackend
from tests.celery_support import private_redis, shared_redis

pytestmark = pytest.mark.asyncio(loop_scope="session")
CACHE_DB = 15


@pytest_asyncio.fixture(params=["memory", "redis"], loop_scope="session")
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[CacheBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    client = Redis.from_url(shared_redis(CACHE_DB), socket_timeout=0.2)
    redis_backend = RedisBackend(client)
    yield redis_backend
    await redis_backend.close()


def text(value: str) -> bytes:
    return value.encode()


async def read(
    cache: Cache, wanted: list[int], source: dict[int, str], calls: list[list[int]]
) -> dict[int, str]:
    async def load(missing: list[int]) -> dict[int, str]:
        calls.append(sorted(missing))
        await asyncio.sleep(0.01)
        return {k: source[k] for k in missing if k in source}

    return await cache.many(
        wanted,
        key=lambda k: f"test:item:{k}",
        generation=lambda k: f"test:gen:{k}",
        load=load,
        encode=text,
        decode=bytes.decode,
    )


async def test_misses_load_once_then_hit(backend: CacheBackend) -> None:
    cache = Cache(backend)
    calls: list[list[int]] = []
    source = {1: "one", 2: "two"}
    assert await read(cache, [1, 2, 3], source, calls) == source
    assert await read(cache, [1, 2], source, calls) == source
    assert calls == [[1, 2, 3]]
    assert cache.stats["hits"] == 2


async def test_a_reader_that_raced_a_write_cannot_put_the_old_row_back(
    backend: CacheBackend,
) -> None:
    cache = Cache(backend)
    source = {7: "old"}
    started, resume = asyncio.Event(), asyncio.Event()

    async def slow_load(missing: list[int]) -> dict[int, str]:
        snapshot = {k: source[k] for k in missing}  # read before the write commits
        started.set()
        await resume.wait()
        return snapshot

    reader = asyncio.create_task(
        cache.many(
            [7],
            key=lambda k: f"race:item:{k}",
            generation=lambda k: f"race:gen:{k}",
            load=slow_load,
            encode=text,
            decode=bytes.decode,
        )
    )
    await started.wait()
    source[7] = "new"  # the write commits...
    await cache.invalidate(["race:item:7"], ["race:gen:7"])  # ...and invalidates
    resume.set()
    assert await reader == {7: "old"}  # that reader saw the old row, as it read before the write
    calls: list[list[int]] = []
    fresh = await cache.many(
        [7],
        key=lambda k: f"race:item:{k}",
        generation=lambda k: f"race:gen:{k}",
        load=lambda ks: _value({k: source[k] for k in ks}, calls),
        encode=text,
        decode=bytes.decode,
    )
    assert fresh == {7: "new"}
    assert calls == [[7]]


async def _value(result: dict[int, str], calls: list[list[int]]) -> dict[int, str]:
    calls.append(sorted(result))
    return result


async def test_two_hundred_concurrent_misses_cause_one_load(backend: CacheBackend) -> None:
    cache = Cache(backend)
    calls: list[list[int]] = []
    results = await asyncio.gather(*(read(cache, [42], {42: "x"}, calls) for _ in range(200)))
    assert all(r == {42: "x"} for r in results)
    assert calls == [[42]]


async def test_a_stopped_or_frozen_redis_is_skipped_and_recovers() -> None:
    with private_redis() as server:
        client = Redis.from_url(server.url, socket_timeout=0.05, socket_connect_timeout=0.05)
        backend = RedisBackend(client, cooldown=0.2)
        cache = Cache(backend)
        calls: list[list[int]] = []
        assert await read(cache, [1], {1: "a"}, calls) == {1: "a"}
        server.stop()
        for _ in range(20):
            assert await read(cache, [1], {1: "a"}, calls) == {1: "a"}
        assert backend.stats.breaker_open
        assert backend.stats.errors >= 1
        assert backend.stats.skipped >= 10  # most calls never touched the dead server
        server.start()
        deadline = time.monotonic() + 5
        while backend.stats.breaker_open or await read(cache, [1], {1: "a"}, calls) != {1: "a"}:
            assert time.monotonic() < deadline
            await read(cache, [1], {1: "a"}, calls)
            await asyncio.sleep(0.05)
        hits = backend.stats.hits
        await read(cache, [1], {1: "a"}, calls)
        await read(cache, [1], {1: "a"}, calls)
        assert backend.stats.hits > hits  # hits resume without a restart
        server.freeze()
        try:
            began = time.monotonic()
            assert await read(cache, [2], {2: "b"}, calls) == {2: "b"}
            assert time.monotonic() - began < 1.0  # bounded by the socket timeout, not hung
        finally:
            server.thaw()
        await backend.close()


async def test_rows_brought_after_a_write_are_neither_cached_nor_vouched_for(
    backend: CacheBackend,
) -> None:
    """Rows a statement brought for another lookup are read before their generations are: a
    row whose generation was ever bumped may be older than it, so it is not cached and the
    response it is in is tagged but not stamped (never shared); the others are both."""
    cache = Cache(backend)
    await cache.invalidate([], ["gen:2"])  # row 2 was written at some point
    rows = {1: "one", 2: "two (maybe from before the write)"}
    with tags.collecting() as read_tags:
        await cache.brought(
            rows, key=lambda k: f"row:{k}", generation=lambda k: f"gen:{k}", encode=text
        )
    assert read_tags.keys == {"gen:1", "gen:2"}
    assert not read_tags.stamped
    assert await backend.mget(["row:1", "row:2"]) == [b"one", None]
    with tags.collecting() as fresh_tags:
        await cache.brought(
            {3: "three"}, key=lambda k: f"row:{k}", generation=lambda k: f"gen:{k}", encode=text
        )
    assert fresh_tags.stamped
    assert fresh_tags.stamps == {"gen:3": None}
    await cache.invalidate(["row:1", "row:3"], ["gen:1", "gen:2", "gen:3"])


async def test_a_generation_read_twice_keeps_its_first_stamp() -> None:
    """Rows read before a write and a generation read after it must not pass for fresh: the
    stamp is the first value read, the one the earliest rows were read under."""
    with tags.collecting() as read_tags:
        tags.stamp(["gen:1"], [None])
        tags.stamp(["gen:1"], [b"1"])
    assert read_tags.stamps == {"gen:1": None}
