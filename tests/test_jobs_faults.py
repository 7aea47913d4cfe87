"""Bulk jobs under contention and crashes, on PostgreSQL with real `gateway worker` processes:
jobs that run at once compose, a job whose whole worker was killed is re-queued by its lease and
finishes with every change applied once, and a finished job delivered again does nothing."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text, update

from db.engine import create_engine
from db.models import changes, jobs, products
from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.bulk_support import prices, start_bulk, subtree, worker_env
from tests.celery_support import Worker, private_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import JOB, Api, finished
from workers.app import create_celery

pytestmark = pytest.mark.asyncio(loop_scope="session")

LEASE_SECONDS = 3
# Every product moves under category 1, so one job there covers the whole ~6,000 variants;
# category 12 keeps its own few, for the jobs that contend.
EVERYTHING, CONTENDED = 1, 12
TASK = "gateway.products_bulk_price_update"


@pytest.fixture(scope="module")
def faults_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_job_faults")


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with private_redis() as server:
        yield server.url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def faults_settings(faults_database: str, broker: str) -> Settings:
    base = await seeded(faults_database, 2_000)
    settings = base.model_copy(update={"celery_broker_url": broker, "relay_poll_seconds": 0.2})
    await _execute(
        settings,
        update(products)
        .where(products.c.category_id.not_in(subtree(EVERYTHING)))
        .values(category_id=51),
    )
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def faults_client(faults_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(faults_settings) as client:
        yield client


@pytest.fixture
def boss(faults_client: httpx.AsyncClient, faults_settings: Settings) -> Api:
    return Api(faults_client, token(faults_settings, Role.ADMIN, "boss"))


@contextmanager
def worker(settings: Settings, log: Path, concurrency: int = 1, **env: str) -> Iterator[Worker]:
    assert settings.celery_broker_url
    extra = {"JOB_LEASE_SECONDS": str(LEASE_SECONDS), **env}
    started = Worker(worker_env(settings, settings.celery_broker_url, **extra), log, concurrency)
    try:
        yield started
    finally:
        started.stop()


async def _execute(settings: Settings, statement: Any) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement)
    finally:
        await engine.dispose()


async def _rows(settings: Settings, statement: Any) -> list[Any]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(statement))
    finally:
        await engine.dispose()


async def _last_change(settings: Settings) -> int:
    return int((await _rows(settings, select(func.coalesce(func.max(changes.c.id), 0))))[0][0])


async def _price_changes(settings: Settings, after: int) -> dict[int, list[Decimal]]:
    """Each variant's recorded new prices since change `after`, in commit order."""
    found = await _rows(
        settings,
        select(changes.c.entity_id, changes.c["values"])
        .where(changes.c.id > after, changes.c.entity_type == "ProductVariant")
        .order_by(changes.c.id),
    )
    out: dict[int, list[Decimal]] = {}
    for variant_id, values in found:
        out.setdefault(variant_id, []).append(Decimal(values["price"]))
    return out


async def _job_row(settings: Settings, job_id: str) -> Any:
    key = ids.decode(job_id)[1]
    return (await _rows(settings, select(*jobs.c).where(jobs.c.id == key)))[0]


WRONG_RANGES = text(
    """SELECT p.id FROM products p JOIN product_variants v ON v.product_id = p.id
    GROUP BY p.id, p.min_price, p.max_price, p.in_stock
    HAVING p.min_price <> min(v.price) OR p.max_price <> max(v.price)
        OR p.in_stock <> bool_or(v.quantity > 0)"""
)


async def test_three_jobs_at_once_on_one_category_compose(
    boss: Api, faults_settings: Settings, tmp_path: Path
) -> None:
    before = await prices(faults_settings, CONTENDED)
    mark = await _last_change(faults_settings)
    # Small batches and three pool processes: the jobs' batches interleave on the same rows.
    with worker(faults_settings, tmp_path / "worker.log", concurrency=3, BULK_BATCH_SIZE="10"):
        started = [await start_bulk(boss, CONTENDED, amount="1.00") for _ in range(3)]
        done = [await finished(boss, job_id) for job_id in started]
    for job in done:
        assert job["status"] == "SUCCEEDED", job
        assert job["result"] == {"variantsChanged": len(before), "variantsSeen": len(before)}
    rows = [await _job_row(faults_settings, job_id) for job_id in started]
    # On a busy machine one job may finish before the last starts; two overlapping still race.
    overlapping = [
        (a.id, b.id)
        for a in rows
        for b in rows
        if a.id < b.id and a.started_at < b.finished_at and b.started_at < a.finished_at
    ]
    assert overlapping, "no two jobs ran at once"
    after = await prices(faults_settings, CONTENDED)
    assert after == {k: v + Decimal("3.00") for k, v in before.items()}
    steps = [Decimal("1.00"), Decimal("2.00"), Decimal("3.00")]
    expected = {k: [v + step for step in steps] for k, v in before.items()}
    assert await _price_changes(faults_settings, mark) == expected
    assert await _rows(faults_settings, WRONG_RANGES) == []


async def test_a_job_whose_whole_worker_is_killed_finishes_once_on_a_new_one(
    boss: Api, faults_settings: Settings, tmp_path: Path
) -> None:
    before = await prices(faults_settings, EVERYTHING)
    assert len(before) > 5_000
    mark = await _last_change(faults_settings)
    with worker(faults_settings, tmp_path / "first.log", BULK_BATCH_SIZE="100") as first:
        job_id = await start_bulk(boss, EVERYTHING, amount="0.50")
        deadline = time.monotonic() + 60
        while (await boss.query(JOB, {"id": job_id})).data["job"]["progress"] < 0.1:
            assert time.monotonic() < deadline, "the job never made progress"
            await asyncio.sleep(0.01)
        first.kill()
    killed = time.monotonic()
    at_kill = (await boss.query(JOB, {"id": job_id})).data["job"]
    assert (at_kill["status"], at_kill["progress"] < 0.3) == ("RUNNING", True), at_kill
    with worker(faults_settings, tmp_path / "second.log", BULK_BATCH_SIZE="100") as second:
        job = await finished(boss, job_id, seconds=LEASE_SECONDS + 30)
        assert time.monotonic() - killed < LEASE_SECONDS + 30
        assert (job["status"], job["attempts"], job["error"]) == ("SUCCEEDED", 2, None), job
        assert job["result"] == {"variantsChanged": len(before), "variantsSeen": len(before)}
        unchanged = await _changed_wrongly(faults_settings, before, Decimal("0.50"))
        assert unchanged == 0
        recorded = await _price_changes(faults_settings, mark)
        assert recorded == {k: [v + Decimal("0.50")] for k, v in before.items()}
        assert await _rows(faults_settings, WRONG_RANGES) == []
        await _redelivered_does_nothing(faults_settings, second, job_id)


async def _changed_wrongly(settings: Settings, before: dict[int, Decimal], delta: Decimal) -> int:
    """Variants whose price is not exactly their old one plus `delta`, counted by PostgreSQL."""
    wrong = await _rows(
        settings,
        text(
            "SELECT count(*) FROM unnest(CAST(:ids AS bigint[]), CAST(:prices AS numeric[]))"
            " AS old(id, price) LEFT JOIN product_variants v ON v.id = old.id"
            " WHERE v.price IS DISTINCT FROM old.price + :delta"
        ).bindparams(ids=list(before), prices=list(before.values()), delta=delta),
    )
    return int(wrong[0][0])


async def _redelivered_does_nothing(settings: Settings, worker: Worker, job_id: str) -> None:
    """The broker may deliver a finished job's task again (a visibility timeout, a restore)."""
    job_before = await _job_row(settings, job_id)
    prices_before = await prices(settings, EVERYTHING)
    mark = await _last_change(settings)
    app = create_celery(settings)
    try:
        app.send_task(TASK, kwargs={"job_id": job_before.id}, task_id="redelivered")
    finally:
        app.close()
    deadline = time.monotonic() + 30
    while "[redelivered] succeeded" not in worker.log.read_text():
        assert time.monotonic() < deadline, "the worker never ran the redelivered task"
        await asyncio.sleep(0.05)
    assert await _job_row(settings, job_id) == job_before
    assert await prices(settings, EVERYTHING) == prices_before
    assert await _last_change(settings) == mark
