"""The lease sweeper, run by every relay: a RUNNING job whose lease ran out (its worker died or
hung) is re-queued through the outbox, or failed once it has been started JOB_MAX_ATTEMPTS
times. Safe with many relays: rows are claimed with SKIP LOCKED and each change is conditional
on the lease still having run out."""

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from db import jobs
from db.models import utcnow
from db.writes.unit import write_transaction
from workers.settings import WorkerSettings

ACTOR = "relay"


async def sweep_expired_leases(sessions: async_sessionmaker[Any], settings: WorkerSettings) -> int:
    """Returns how many jobs it re-queued or failed."""
    now = utcnow()
    swept = 0
    async with write_transaction(sessions, ACTOR) as tx:
        expired = await jobs.lease_expired(
            session=tx.session, now=now, limit=settings.relay_batch_size
        )
        for job in expired:
            if job.attempts >= settings.job_max_attempts:
                error = (
                    f"Gave up after {job.attempts} attempts (JOB_MAX_ATTEMPTS): the worker "
                    "running the last one stopped renewing its lease, as if it died or hung."
                )
                swept += await jobs.fail_expired(tx, job, now, error)
            else:
                error = (
                    f"The worker running attempt {job.attempts} stopped renewing its lease, as "
                    "if it died or hung; the job was queued again and resumes where it stopped."
                )
                swept += await jobs.requeue(tx, job, now, error)
    return swept
