"""Job leases: a RUNNING job belongs to one start of its task until its lease runs out.

A start takes the job with a random owner token; its heartbeat renews the lease, and each write
of the job's effects checks the token in the transaction that writes them. Once a lease has run
out and the job has been taken over, the old start (a worker that hung rather than died) can no
longer change anything, so every batch is applied once whoever finishes the job.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import JobStatus, jobs, utcnow
from db.rows import JobRow
from db.writes.unit import WriteTransaction


class LeaseLost(Exception):
    """This start no longer holds its job: its lease ran out and another start took it over."""


def new_owner() -> str:
    return secrets.token_hex(16)


def expiry(seconds: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=seconds)


def taken_by_another(row: Any, now: datetime) -> bool:
    """RUNNING under a lease that has not run out: its holder may be at work."""
    return bool(
        row.status == JobStatus.RUNNING
        and row.lease_owner is not None
        and row.lease_expires_at is not None
        and row.lease_expires_at > now
    )


def held_by(job: JobRow) -> ColumnElement[bool]:
    """The job's row, while the start that returned `job` still holds it."""
    if job.lease_owner is None:
        raise LeaseLost(f"job {job.id} was not taken under a lease")
    return and_(
        jobs.c.id == job.id,
        jobs.c.status == JobStatus.RUNNING,
        jobs.c.lease_owner == job.lease_owner,
    )


async def _extend(session: AsyncSession, job: JobRow, seconds: float) -> Row[Any] | None:
    result = await session.execute(
        update(jobs)
        .where(held_by(job))
        .values(lease_expires_at=expiry(seconds))
        .returning(jobs.c.checkpoint)
    )
    row: Row[Any] | None = result.first()
    return row


async def renew(*, session: AsyncSession, job: JobRow, seconds: float) -> bool:
    """The heartbeat; False once the job is no longer this start's (finished or taken over)."""
    return await _extend(session, job, seconds) is not None


async def hold(tx: WriteTransaction, job: JobRow, seconds: float) -> dict[str, Any]:
    """Renew the lease as the first statement of the transaction that writes the job's effects,
    locking its row until commit, and return the checkpoint committed so far. Being a write, it
    also takes SQLite's write lock before the transaction reads anything."""
    row = await _extend(tx.session, job, seconds)
    if row is None:
        raise LeaseLost(f"job {job.id} is no longer held by this start")
    return dict(row.checkpoint or {})


async def holds(*, session: AsyncSession, job: JobRow) -> bool:
    return (await session.execute(select(jobs.c.id).where(held_by(job)))).first() is not None
