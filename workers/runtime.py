"""What tasks run with: one event loop, one engine and one Redis client per worker process."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from db.cache.aside import Cache
from db.cache.setup import invalidator
from db.engine import AfterCommit, create_engine, session_factory
from workers.events import RedisEventStream, publish_committed
from workers.pending import LocalViews
from workers.settings import WorkerSettings
from workers.webhook_targets import Resolve, system_resolve

log = logging.getLogger(__name__)
T = TypeVar("T")
# Runs after each commit of this process, once the cache is invalidated.
OnCommit = Callable[[], Awaitable[None]]
# Called with a commit's change records, on the committing thread (it must be thread-safe).
Purge = Callable[[Sequence[Any]], None]
# Sends a task to run `delay` seconds from now: (delay, task name, args).
Schedule = Callable[[float, str, dict[str, Any]], None]


@dataclass(slots=True)
class Runtime:
    settings: WorkerSettings
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    redis: Redis | None
    # A Celery worker sends tasks with a countdown; None: this process runs them on its own loop.
    schedule: Schedule | None = None
    views: LocalViews = field(default_factory=LocalViews)
    # Invalidated after each commit through the session factory's hook; closed here if owned.
    cache: Cache | None = None
    owns_cache: bool = False
    # How webhook deliveries look up host names; tests give names answers of their own.
    resolve: Resolve = system_resolve

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a task body to completion on this process's loop (never asyncio.run per task)."""
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.loop.run_until_complete(self.engine.dispose())
        # aiosqlite answers from its own threads: let their last replies land before closing.
        self.loop.run_until_complete(asyncio.sleep(0.05))
        if self.redis is not None:
            self.loop.run_until_complete(self.redis.aclose())
        if self.cache is not None and self.owns_cache:
            self.loop.run_until_complete(self.cache.close())
        self.loop.close()


def _after_commit(
    cache: Cache | None, on_commit: OnCommit | None, purge: Purge | None = None
) -> AfterCommit | None:
    invalidate = invalidator(cache)
    if on_commit is None and purge is None:
        return invalidate

    async def after_commit(records: Sequence[Any]) -> None:
        if purge is not None:
            purge(records)
        if invalidate is not None:
            await invalidate(records)
        if on_commit is not None:
            await on_commit()

    return after_commit


def build_runtime(
    settings: WorkerSettings,
    cache: Cache | None = None,
    on_commit: OnCommit | None = None,
    resolve: Resolve = system_resolve,
    purge: Purge | None = None,
) -> Runtime:
    """`cache`: the gateway's own, when tasks run inside it; otherwise a worker invalidates the
    shared Redis cache (and has nothing to invalidate without one). `on_commit`: what tells
    subscribers; by default a worker with Redis appends its own commits to the event stream,
    so they reach subscribers in milliseconds rather than at a relay's next poll. `purge`: drops
    the gateway's cached responses a commit changed (tasks run inside it), before the task
    reports itself done."""
    owns_cache = cache is None and bool(settings.redis_url)
    if owns_cache:
        cache = settings.build_cache()
    loop = asyncio.new_event_loop()
    engine = create_engine(settings)
    redis = None
    if settings.redis_url:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.broker_timeout_seconds,
            socket_connect_timeout=settings.broker_timeout_seconds,
        )
    if on_commit is None and redis is not None:
        stream = RedisEventStream(redis)

        async def publish() -> None:
            try:
                while await publish_committed(sessions, stream, settings.relay_batch_size):
                    pass
            except Exception as error:  # the gateways' relays append them at their next poll
                log.warning("changes not appended to the event stream: %r", error)

        on_commit = publish
    sessions = session_factory(engine, _after_commit(cache, on_commit, purge))
    return Runtime(
        settings, loop, engine, sessions, redis, cache=cache, owns_cache=owns_cache, resolve=resolve
    )
