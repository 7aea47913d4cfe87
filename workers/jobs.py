"""The life of a job around its task body: start (or skip, if done), succeed or fail."""

from collections.abc import Awaitable, Callable
from typing import Any

from db import jobs
from db.rows import JobRow
from db.writes.unit import write_transaction
from workers.runtime import Runtime

ACTOR = "worker"
Body = Callable[[Runtime, JobRow], Awaitable[dict[str, Any]]]


async def run_job(runtime: Runtime, job_id: int, body: Body) -> None:
    """A redelivered job that already finished does nothing: tasks are idempotent by job."""
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        job = await jobs.start(tx, job_id)
    if job is None:
        return
    result = await body(runtime, job)
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        await jobs.succeed(tx, job_id, result)


async def fail_job(runtime: Runtime, job_id: int, error: str) -> None:
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        await jobs.fail(tx, job_id, error)


async def note_error(runtime: Runtime, job_id: int, error: str) -> None:
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        await jobs.note_error(tx, job_id, error)
