"""The life of a job around its task body: take it under a lease (or skip it, if finished or
held), keep the lease alive while the body works, then succeed; or retry or fail."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from db import jobs, leases
from db.leases import LeaseLost
from db.models import utcnow
from db.rows import JobRow
from db.writes.unit import write_transaction, writer_lock
from workers.runtime import Runtime

log = logging.getLogger(__name__)
ACTOR = "worker"
Body = Callable[[Runtime, JobRow], Awaitable[dict[str, Any]]]


async def run_job(runtime: Runtime, job_id: int, body: Body) -> None:
    """A redelivered job that already finished does nothing, and one whose lease another start
    holds is left to it: if that start died, the lease runs out and the relay re-queues it."""
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        job = await jobs.start(tx, job_id, runtime.settings.job_lease_seconds)
    if job is None:
        return
    try:
        async with heartbeat(runtime, job):
            result = await body(runtime, job)
        async with write_transaction(runtime.sessions, ACTOR) as tx:
            await jobs.succeed(tx, job, result)
    except LeaseLost:
        log.warning("job %d was taken over after its lease ran out; this start stops", job_id)
    except Exception:
        if await _lost(runtime, job):
            log.exception("job %d failed after it was taken over; the new start decides", job_id)
            return
        raise


async def _lost(runtime: Runtime, job: JobRow) -> bool:
    try:
        async with runtime.sessions() as session:
            return not await leases.holds(session=session, job=job)
    except Exception:  # cannot tell (the database is away): let the failure take its course
        return False


@contextlib.asynccontextmanager
async def heartbeat(runtime: Runtime, job: JobRow) -> AsyncIterator[None]:
    """Renews the job's lease every JOB_HEARTBEAT_SECONDS while the body runs. Stopped between
    beats, never inside one's transaction."""
    stop = asyncio.Event()
    beating = asyncio.create_task(_beat(runtime, job, stop), name=f"job-{job.id}-heartbeat")
    try:
        yield
    finally:
        stop.set()
        await beating


async def _beat(runtime: Runtime, job: JobRow, stop: asyncio.Event) -> None:
    settings = runtime.settings
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.heartbeat_seconds):
                await stop.wait()
        if stop.is_set():
            return
        try:
            async with (
                writer_lock(runtime.sessions),
                runtime.sessions() as session,
                session.begin(),
            ):
                held = await leases.renew(
                    session=session, job=job, seconds=settings.job_lease_seconds
                )
        except Exception as error:  # the database is away: the next beat may reach it in time
            log.warning("job %d: lease not renewed: %r", job.id, error)
            continue
        if not held:
            log.warning("job %d: lease lost; its next write stops this start", job.id)
            return


async def fail_job(runtime: Runtime, job_id: int, error: str) -> None:
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        await jobs.fail(tx, job_id, error)


async def note_error(runtime: Runtime, job_id: int, error: str, retry_in: float) -> None:
    """The job waits for its retry; if that never comes, its lease runs out a lease later."""
    retry_by = utcnow() + timedelta(seconds=retry_in + runtime.settings.job_lease_seconds)
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        await jobs.note_error(tx, job_id, error, retry_by)
