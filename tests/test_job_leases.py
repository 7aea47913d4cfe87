"""Job leases on SQLite and PostgreSQL: a start takes a job only when no live lease holds it, a
start that lost its lease writes nothing, the heartbeat keeps a lease alive, and the sweeper
queues a job whose lease ran out again (through the outbox) or fails it after JOB_MAX_ATTEMPTS."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from db import jobs, leases
from db.engine import create_engine, session_factory
from db.leases import LeaseLost
from db.models import JobStatus, outbox, utcnow
from db.models import jobs as job_table
from db.rows import JobRow
from db.writes.unit import write_transaction
from tests.conftest import BACKENDS, backend_database, seeded
from workers.jobs import note_error, run_job
from workers.runtime import Runtime
from workers.settings import WorkerSettings
from workers.sweeper import sweep_expired_leases

pytestmark = pytest.mark.asyncio(loop_scope="session")

LEASE = 30.0
SETTINGS = WorkerSettings(job_max_attempts=2)


@pytest.fixture(scope="module", params=BACKENDS)
def leases_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Its own database: no gateway's relay sweeps it behind the tests' backs."""
    yield from backend_database(request.param, "leases", tmp_path_factory)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sessions(leases_database: str) -> AsyncIterator[async_sessionmaker[Any]]:
    engine = create_engine(await seeded(leases_database, 0))
    yield session_factory(engine)
    await engine.dispose()


async def new_job(sessions: async_sessionmaker[Any]) -> int:
    async with write_transaction(sessions, "test") as tx:
        return (await jobs.create_job(tx, "products_bulk_price_update", {"category_id": 1})).id


async def start(
    sessions: async_sessionmaker[Any], job_id: int, lease: float = LEASE
) -> JobRow | None:
    async with write_transaction(sessions, "test") as tx:
        return await jobs.start(tx, job_id, lease)


async def row(sessions: async_sessionmaker[Any], job_id: int) -> JobRow:
    async with sessions() as session:
        return (await jobs.jobs_by_ids(session=session, ids=[job_id]))[0]


async def expire(sessions: async_sessionmaker[Any], job_id: int) -> None:
    """As if its worker had stopped renewing the lease a while ago."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(job_table)
            .where(job_table.c.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


async def outbox_keys(sessions: async_sessionmaker[Any], job_id: int) -> list[str]:
    async with sessions() as session:
        found = await session.scalars(
            select(outbox.c.idempotency_key)
            .where(outbox.c.idempotency_key.startswith(f"job:{job_id}"))
            .order_by(outbox.c.id)
        )
        return list(found)


async def test_a_lease_keeps_other_starts_out_until_it_runs_out(
    sessions: async_sessionmaker[Any],
) -> None:
    job_id = await new_job(sessions)
    first = await start(sessions, job_id)
    assert first is not None
    assert (first.status, first.attempts) == (JobStatus.RUNNING, 1)
    assert await start(sessions, job_id) is None  # a redelivery while the holder works
    assert await sweep_expired_leases(sessions, SETTINGS) == 0
    await expire(sessions, job_id)
    assert await sweep_expired_leases(sessions, SETTINGS) == 1
    swept = await row(sessions, job_id)
    assert (swept.status, swept.lease_owner) == (JobStatus.QUEUED, None)
    assert swept.error is not None
    assert "stopped renewing its lease" in swept.error
    assert await outbox_keys(sessions, job_id) == [f"job:{job_id}", f"job:{job_id}:1"]
    second = await start(sessions, job_id)
    assert second is not None
    assert second.attempts == 2

    async with write_transaction(sessions, "test") as tx:
        with pytest.raises(LeaseLost):
            await leases.hold(tx, first, LEASE)
        with pytest.raises(LeaseLost):
            await jobs.succeed(tx, first, {"by": "first"})
    async with sessions() as session, session.begin():
        assert not await leases.renew(session=session, job=first, seconds=LEASE)
        assert await leases.renew(session=session, job=second, seconds=LEASE)
    async with write_transaction(sessions, "test") as tx:
        assert await leases.hold(tx, second, LEASE) == {}
        await jobs.succeed(tx, second, {"by": "second"})
    done = await row(sessions, job_id)
    assert (done.status, done.result, done.error) == (JobStatus.SUCCEEDED, {"by": "second"}, None)
    assert await start(sessions, job_id) is None  # a finished job delivered again: nothing


async def test_a_job_whose_lease_runs_out_too_often_fails_with_the_reason(
    sessions: async_sessionmaker[Any],
) -> None:
    job_id = await new_job(sessions)
    for _ in range(SETTINGS.job_max_attempts):
        assert await start(sessions, job_id) is not None
        await expire(sessions, job_id)
        assert await sweep_expired_leases(sessions, SETTINGS) == 1
    failed = await row(sessions, job_id)
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 2)
    assert failed.error is not None
    assert "Gave up after 2 attempts" in failed.error
    assert failed.finished_at is not None
    assert await outbox_keys(sessions, job_id) == [f"job:{job_id}", f"job:{job_id}:1"]


async def test_two_sweepers_queue_an_expired_job_once(sessions: async_sessionmaker[Any]) -> None:
    job_id = await new_job(sessions)
    assert await start(sessions, job_id) is not None
    await expire(sessions, job_id)
    swept = await asyncio.gather(*(sweep_expired_leases(sessions, SETTINGS) for _ in range(4)))
    assert sum(swept) == 1
    assert await outbox_keys(sessions, job_id) == [f"job:{job_id}", f"job:{job_id}:1"]


async def test_a_retry_takes_the_released_lease_at_once(sessions: async_sessionmaker[Any]) -> None:
    job_id = await new_job(sessions)
    assert await start(sessions, job_id) is not None
    runtime = _runtime(sessions, WorkerSettings(job_lease_seconds=LEASE))
    await note_error(runtime, job_id, "TimeoutError: slow", retry_in=60)
    assert await sweep_expired_leases(sessions, SETTINGS) == 0  # the retry has a lease's grace
    retry = await start(sessions, job_id)
    assert retry is not None
    assert retry.attempts == 2


async def test_the_heartbeat_keeps_a_long_body_s_lease_alive(
    sessions: async_sessionmaker[Any],
) -> None:
    job_id = await new_job(sessions)
    runtime = _runtime(sessions, WorkerSettings(job_lease_seconds=0.6))

    async def body(runtime: Runtime, job: JobRow) -> dict[str, Any]:
        for _ in range(5):  # three leases long
            await asyncio.sleep(0.36)
            assert await sweep_expired_leases(sessions, SETTINGS) == 0
        return {"slept": True}

    await run_job(runtime, job_id, body)
    done = await row(sessions, job_id)
    assert (done.status, done.result, done.attempts) == (JobStatus.SUCCEEDED, {"slept": True}, 1)


async def test_a_start_that_was_taken_over_finishes_nothing(
    sessions: async_sessionmaker[Any],
) -> None:
    job_id = await new_job(sessions)
    runtime = _runtime(sessions, WorkerSettings(job_lease_seconds=LEASE))

    async def body(runtime: Runtime, job: JobRow) -> dict[str, Any]:
        await expire(sessions, job_id)  # as if this worker had hung for a lease
        assert await sweep_expired_leases(sessions, SETTINGS) == 1
        assert await start(sessions, job_id) is not None
        return {"by": "the hung start"}

    await run_job(runtime, job_id, body)
    taken = await row(sessions, job_id)
    assert (taken.status, taken.result, taken.attempts) == (JobStatus.RUNNING, None, 2)


def _runtime(sessions: async_sessionmaker[Any], settings: WorkerSettings) -> Runtime:
    """Enough of a worker's runtime for run_job on the test's own loop."""
    engine = sessions.kw["bind"]
    return Runtime(settings, asyncio.get_running_loop(), engine, sessions, None)
