"""Builds the cache from settings, and the after-commit hook that keeps it right."""

from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from db.cache.aside import Cache
from db.cache.backend import MemoryBackend, RedisBackend
from db.cache.invalidation import stale_keys
from db.engine import AfterCommit


def quick_redis(url: str, timeout: float) -> Redis:
    """A client for best-effort calls: a bounded pool that waits briefly for a free connection
    rather than failing under bursts, and short timeouts on every call."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return Redis(connection_pool=pool)


def build_cache(
    *, redis_url: str | None, ttl: int, timeout: float, breaker_seconds: float
) -> Cache:
    """Redis when a URL is given; otherwise an in-process map with the same interface."""
    if not redis_url:
        return Cache(MemoryBackend(), ttl)
    backend = RedisBackend(quick_redis(redis_url, timeout), cooldown=breaker_seconds)
    return Cache(backend, ttl)


def invalidator(cache: Cache | None) -> AfterCommit | None:
    if cache is None:
        return None

    async def after_commit(records: Sequence[Any]) -> None:
        delete, bump = stale_keys(records)
        await cache.invalidate(delete, bump)

    return after_commit
