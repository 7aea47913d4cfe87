"""productViewTrack's tasks: count a view cheaply now, write a window's views in one upsert.

With Redis, every worker adds to one shared hash; without it, each process keeps its own
counter (in a Celery worker its timer only fires while a task runs: give workers REDIS_URL).
Either way the first view of a window schedules that window's single flush. Counting is
at least once: a track task redelivered after a crash may count its view twice.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ResponseError

from db.views import add_views
from db.writes.unit import writer_lock
from workers.runtime import Runtime

log = logging.getLogger(__name__)
TRACK_VIEW = "gateway.track_view"
FLUSH_VIEWS = "gateway.flush_views"
PENDING = "gateway:views:pending"
FLUSHING = "gateway:views:flushing:"
SCHEDULED = "gateway:views:flush-scheduled"
Flush = Callable[[Runtime], Awaitable[None]]


async def track_view(runtime: Runtime, args: dict[str, Any]) -> None:
    product_id = int(args["product_id"])
    if runtime.redis is None:
        _count_locally(runtime, product_id)
        return
    async with runtime.redis.pipeline(transaction=False) as pipe:
        pipe.hincrby(PENDING, str(product_id), 1)
        # Outlives the window: were the flush lost, counts would wait for the next one only.
        pipe.set(SCHEDULED, "1", nx=True, px=_guard_ms(runtime))
        _, first = await pipe.execute()
    if first:
        batch = uuid.uuid4().hex
        _schedule(runtime, {"batch": batch}, lambda rt: flush_views(rt, {"batch": batch}))


async def flush_views(runtime: Runtime, args: dict[str, Any]) -> None:
    """Takes everything pending with one RENAME, so views counted meanwhile wait for the next
    flush; a retried flush finds its batch where it left it and writes it once."""
    redis = runtime.redis
    if redis is None:
        await _flush_locally(runtime)
        return
    batch = FLUSHING + str(args["batch"])
    await redis.delete(SCHEDULED)  # from here on, a new view schedules the next flush
    if not await redis.exists(batch):
        try:
            await redis.rename(PENDING, batch)
        except ResponseError:  # "no such key": nothing was counted
            return
    pending = await redis.hgetall(batch)
    await _store(runtime, Counter({int(key): int(views) for key, views in pending.items()}))
    await redis.delete(batch)


def _guard_ms(runtime: Runtime) -> int:
    return int(runtime.settings.view_flush_seconds * 2_000) + 1_000


def _schedule(runtime: Runtime, args: dict[str, Any], flush: Flush) -> None:
    delay = runtime.settings.view_flush_seconds
    if runtime.schedule is not None:
        runtime.schedule(delay, FLUSH_VIEWS, args)
    else:
        runtime.loop.call_later(delay, _start, runtime, flush)


def _count_locally(runtime: Runtime, product_id: int) -> None:
    runtime.views.counts[product_id] += 1
    _schedule_locally(runtime)


def _schedule_locally(runtime: Runtime) -> None:
    pending = runtime.views
    if not pending.flush_scheduled:
        pending.flush_scheduled = True
        delay = runtime.settings.view_flush_seconds
        runtime.loop.call_later(delay, _start, runtime, _flush_locally)


async def _flush_locally(runtime: Runtime) -> None:
    pending = runtime.views
    counts, pending.counts = pending.counts, Counter()
    pending.flush_scheduled = False
    try:
        await _store(runtime, counts)
    except Exception:
        pending.counts.update(counts)  # kept for the next window's flush
        _schedule_locally(runtime)
        raise


def _start(runtime: Runtime, flush: Flush) -> None:
    flushing = runtime.views.flushing
    task = runtime.loop.create_task(_logged(flush(runtime)))
    flushing.add(task)
    task.add_done_callback(flushing.discard)


async def _logged(flush: Awaitable[None]) -> None:
    try:
        await flush
    except Exception:
        log.exception("flushing view counts failed; they wait for the next flush")


async def _store(runtime: Runtime, counts: Counter[int]) -> None:
    if not counts:
        return
    async with writer_lock(runtime.sessions), runtime.sessions() as session, session.begin():
        await add_views(session=session, counts=counts)
