"""Jobs: created with their outbox row by a mutation, advanced by the task that runs them.

Every status change goes through a WriteTransaction, so job updates are change rows too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import leases
from db.models import ChangeKind, JobStatus, jobs, utcnow
from db.pagination import (
    SINGLE_PARENT,
    Keyset,
    Page,
    PageWindow,
    SortKey,
    limited_page_statement,
    split_pages,
)
from db.rows import JobRow, reader
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction
from db.writes.validation import Checker

COLUMNS = tuple(jobs.c)
TASK_PREFIX = "gateway."
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED)


to_row = reader(JobRow, COLUMNS)


async def jobs_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[JobRow]:
    result = await session.execute(select(*COLUMNS).where(jobs.c.id.in_(ids)))
    return [to_row(row) for row in result]


async def job_page(
    *, session: AsyncSession, window: PageWindow, statuses: Sequence[JobStatus] | None
) -> Page[JobRow]:
    rows = select(*COLUMNS)
    if statuses:
        rows = rows.where(jobs.c.status.in_(statuses))
    stmt = limited_page_statement(rows, sort=SortKey(columns=(jobs.c.id,)), window=window)
    found = (await session.execute(stmt)).all()
    pages = split_pages(
        found, window=window, to_item=to_row, to_keyset=lambda row: Keyset((row.id,))
    )
    return pages.get(SINGLE_PARENT, Page())


@dataclass(frozen=True, slots=True)
class JobTally:
    kind: str
    status: JobStatus
    jobs: int
    # Runs beyond each job's first: redeliveries and retries after transient failures.
    retries: int


async def job_tallies(*, session: AsyncSession) -> list[JobTally]:
    """Jobs by kind and status, in one grouped statement."""
    retries = case((jobs.c.attempts > 1, jobs.c.attempts - 1), else_=0)
    stmt = select(
        jobs.c.kind, jobs.c.status, func.count(), func.coalesce(func.sum(retries), 0)
    ).group_by(jobs.c.kind, jobs.c.status)
    return [
        JobTally(kind, JobStatus(status), int(count), int(retried))
        for kind, status, count, retried in await session.execute(stmt)
    ]


async def create_job(tx: WriteTransaction, kind: str, args: dict[str, Any]) -> JobRow:
    """The job row and its task, committed together; the relay hands the task on after commit."""
    now = utcnow()
    result = await tx.session.execute(
        insert(jobs).returning(jobs.c.id),
        {
            "kind": kind,
            "args": args,
            "created_by": tx.actor,
            "created_at": now,
            "status": JobStatus.QUEUED,
        },
    )
    job_id = int(result.scalar_one())
    tx.enqueue(TASK_PREFIX + kind, {"job_id": job_id}, f"job:{job_id}")
    tx.record("Job", job_id, ChangeKind.CREATED, ("status",))
    return (await jobs_by_ids(session=tx.session, ids=[job_id]))[0]


async def _set(tx: WriteTransaction, job_id: int, fields: Sequence[str], **values: Any) -> None:
    await tx.session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))
    tx.record("Job", job_id, ChangeKind.UPDATED, fields)


async def start(tx: WriteTransaction, job_id: int, lease_seconds: float) -> JobRow | None:
    """Take the job with a fresh lease (again, after a redelivery or a re-queue); None if it has
    finished, or if another start holds a lease on it that has not run out."""
    row = (
        await tx.session.execute(select(*COLUMNS).where(jobs.c.id == job_id).with_for_update())
    ).first()
    now = utcnow()
    if row is None or row.status in FINISHED or leases.taken_by_another(row, now):
        return None
    await _set(
        tx,
        job_id,
        ("status", "startedAt"),
        status=JobStatus.RUNNING,
        started_at=row.started_at or now,
        attempts=row.attempts + 1,
        lease_owner=leases.new_owner(),
        lease_expires_at=leases.expiry(lease_seconds, now),
    )
    return (await jobs_by_ids(session=tx.session, ids=[job_id]))[0]


async def _set_held(
    tx: WriteTransaction, job: JobRow, fields: Sequence[str], **values: Any
) -> None:
    """Change a job only while this start holds it; LeaseLost if another start took it over."""
    result = await tx.session.execute(
        update(jobs).where(leases.held_by(job)).values(**values).returning(jobs.c.id)
    )
    if result.first() is None:
        raise leases.LeaseLost(f"job {job.id} is no longer held by this start")
    tx.record("Job", job.id, ChangeKind.UPDATED, fields)


async def progress(
    tx: WriteTransaction, job: JobRow, fraction: float, checkpoint: dict[str, Any] | None
) -> None:
    """Commit with the batch it follows, so a redelivered job resumes after that batch."""
    await _set_held(
        tx, job, ("progress",), progress=min(max(fraction, 0.0), 1.0), checkpoint=checkpoint
    )


async def succeed(tx: WriteTransaction, job: JobRow, result: dict[str, Any]) -> None:
    await _set_held(
        tx,
        job,
        ("status", "progress", "result", "finishedAt"),
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        result=result,
        finished_at=utcnow(),
        error=None,
        lease_owner=None,
        lease_expires_at=None,
    )


async def fail(tx: WriteTransaction, job_id: int, error: str) -> None:
    """A job that has finished stays as it finished, whoever gives up on it late."""
    await _set_unfinished(
        tx,
        job_id,
        ("status", "error", "finishedAt"),
        status=JobStatus.FAILED,
        error=error[:2000],
        finished_at=utcnow(),
        lease_owner=None,
        lease_expires_at=None,
    )


async def note_error(tx: WriteTransaction, job_id: int, error: str, retry_by: datetime) -> None:
    """A transient failure that will be retried: the job stays RUNNING, its lease released (the
    retry takes it at once) but running until `retry_by`, when the relay re-queues it if the
    retry never came."""
    await _set_unfinished(
        tx, job_id, ("error",), error=error[:2000], lease_owner=None, lease_expires_at=retry_by
    )


async def lease_expired(*, session: AsyncSession, now: datetime, limit: int) -> list[JobRow]:
    """RUNNING jobs whose lease ran out, locked; other sweepers skip them. A job without a lease
    (started before leases existed) is left to the broker's redelivery."""
    stmt = (
        select(*COLUMNS)
        .where(jobs.c.status == JobStatus.RUNNING, jobs.c.lease_expires_at <= now)
        .order_by(jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [to_row(row) for row in await session.execute(stmt)]


async def requeue(tx: WriteTransaction, job: JobRow, now: datetime, error: str) -> bool:
    """Its lease ran out: QUEUED again, its task handed to the workers after commit. False if
    it was taken or renewed meanwhile."""
    if not await _set_expired(
        tx,
        job,
        now,
        ("status", "error"),
        status=JobStatus.QUEUED,
        error=error[:2000],
        lease_owner=None,
        lease_expires_at=None,
    ):
        return False
    tx.enqueue(TASK_PREFIX + job.kind, {"job_id": job.id}, f"job:{job.id}:{job.attempts}")
    return True


async def fail_expired(tx: WriteTransaction, job: JobRow, now: datetime, error: str) -> bool:
    return await _set_expired(
        tx,
        job,
        now,
        ("status", "error", "finishedAt"),
        status=JobStatus.FAILED,
        error=error[:2000],
        finished_at=now,
        lease_owner=None,
        lease_expires_at=None,
    )


async def _set_expired(
    tx: WriteTransaction, job: JobRow, now: datetime, fields: Sequence[str], **values: Any
) -> bool:
    """Conditional on the lease still having run out, so it is safe without row locks (SQLite)
    and against a start that took the job since it was read."""
    result = await tx.session.execute(
        update(jobs)
        .where(
            jobs.c.id == job.id,
            jobs.c.status == JobStatus.RUNNING,
            jobs.c.lease_expires_at <= now,
        )
        .values(**values)
        .returning(jobs.c.id)
    )
    if result.first() is None:
        return False
    tx.record("Job", job.id, ChangeKind.UPDATED, fields)
    return True


async def _set_unfinished(
    tx: WriteTransaction, job_id: int, fields: Sequence[str], **values: Any
) -> None:
    result = await tx.session.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.not_in(FINISHED))
        .values(**values)
        .returning(jobs.c.id)
    )
    if result.first() is not None:
        tx.record("Job", job_id, ChangeKind.UPDATED, fields)


async def start_bulk_price_update(
    tx: WriteTransaction,
    category_id: int,
    percent: Decimal | None,
    amount: Decimal | None,
    include_subcategories: bool,
) -> JobRow:
    if (percent is None) == (amount is None):
        raise WriteError.one(
            "percent", "Give exactly one of `percent` and `amount`.", UserErrorCode.INVALID
        )
    if percent is not None and not Decimal(-100) <= percent <= Decimal(1000):
        raise WriteError.one(
            "percent", "`percent` must be between -100 and 1000.", UserErrorCode.INVALID
        )
    if amount is not None:
        checker = Checker(())
        checker.price("amount", abs(amount))
        if checker.errors:
            raise WriteError(checker.errors)
    await common.category(tx, category_id, "categoryId")
    args = {
        "category_id": category_id,
        "percent": None if percent is None else str(percent),
        "amount": None if amount is None else str(amount),
        "include_subcategories": include_subcategories,
    }
    return await create_job(tx, "products_bulk_price_update", args)
