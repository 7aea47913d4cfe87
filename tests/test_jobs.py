"""Jobs end to end on PostgreSQL with a real Redis broker and real `gateway worker` processes."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import pytest_asyncio
import redis

from db.engine import create_engine, session_factory
from db.models import jobs, outbox
from db.writes.unit import write_transaction
from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.bulk_support import BULK, count, prices, start_bulk, worker_env
from tests.celery_support import PrivateRedis, Worker, private_redis, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import JOB, Api, finished
from workers.app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.relay import Relay
from workers.tasks.bulk_price import new_price

pytestmark = pytest.mark.asyncio(loop_scope="session")

BROKER_DB, RELAY_DB = 11, 12
# A short lease: a job whose worker was killed is re-queued within seconds.
WORKER_ENV = {"TASK_RETRY_BASE_SECONDS": "0.2", "BULK_BATCH_SIZE": "3", "JOB_LEASE_SECONDS": "3"}


@pytest.fixture(scope="module")
def jobs_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_jobs")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def jobs_settings(jobs_database: str) -> Settings:
    base = await seeded(jobs_database, 2_000)
    return base.model_copy(
        update={"celery_broker_url": shared_redis(BROKER_DB), "relay_poll_seconds": 0.2}
    )


@pytest.fixture(scope="module")
def worker(jobs_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    assert jobs_settings.celery_broker_url
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    started = Worker(worker_env(jobs_settings, jobs_settings.celery_broker_url, **WORKER_ENV), log)
    yield started
    started.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def jobs_client(jobs_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(jobs_settings) as client:
        yield client


@pytest.fixture
def boss(jobs_client: httpx.AsyncClient, jobs_settings: Settings) -> Api:
    return Api(jobs_client, token(jobs_settings, Role.ADMIN, "boss"))


async def test_bulk_job_on_a_worker_changes_each_price_once(
    worker: Worker, boss: Api, jobs_settings: Settings
) -> None:
    before = await prices(jobs_settings, 2)
    job = await finished(boss, await start_bulk(boss, 2, percent="10"))
    assert job["status"] == "SUCCEEDED", job
    assert job["result"] == {"variantsChanged": len(before), "variantsSeen": len(before)}
    after = await prices(jobs_settings, 2)
    assert after == {k: new_price(v, {"percent": "10"}) for k, v in before.items()}


async def test_a_job_that_cannot_succeed_fails_with_its_error(worker: Worker, boss: Api) -> None:
    job = await finished(boss, await start_bulk(boss, 3, amount="9999999999"))
    assert job["status"] == "FAILED"
    assert "above" in job["error"]


async def test_refused_mutations_leave_no_job_and_no_outbox_row(
    boss: Api, jobs_settings: Settings
) -> None:
    jobs_before, outbox_before = (
        await count(jobs_settings, jobs),
        await count(jobs_settings, outbox),
    )
    for variables in (
        {"c": ids.encode("Category", 99_999), "p": "5"},
        {"c": ids.encode("Category", 1), "p": "5", "a": "1"},
        {"c": ids.encode("Category", 1), "p": "-200"},
    ):
        payload = (await boss.query(BULK, variables)).data["productsBulkPriceUpdate"]
        assert payload["job"] is None
        assert payload["userErrors"]
    assert await count(jobs_settings, jobs) == jobs_before
    assert await count(jobs_settings, outbox) == outbox_before


async def test_killing_a_worker_mid_job_redelivers_it_and_no_price_changes_twice(
    worker: Worker, boss: Api, jobs_settings: Settings
) -> None:
    before = await prices(jobs_settings, 4)
    job_id = await start_bulk(boss, 4, percent="7")
    deadline = time.monotonic() + 60
    while (await boss.query(JOB, {"id": job_id})).data["job"]["progress"] < 0.2:
        assert time.monotonic() < deadline, "the job never made progress"
        await asyncio.sleep(0.02)
    for child in worker.children():
        os.kill(child, 9)
    job = await finished(boss, job_id)
    assert job["status"] == "SUCCEEDED", job
    assert job["attempts"] == 2
    after = await prices(jobs_settings, 4)
    assert after == {k: new_price(v, {"percent": "7"}) for k, v in before.items()}


@pytest.fixture(scope="module")
def relay_database() -> Iterator[str]:
    """Its own database: the gateway under test runs a relay of its own on the jobs database."""
    yield from postgres_database(f"gateway_test_{os.getpid()}_relay")


async def test_two_relays_hand_over_a_thousand_rows_once(relay_database: str) -> None:
    broker = shared_redis(RELAY_DB)
    settings = (await seeded(relay_database, 0)).model_copy(update={"celery_broker_url": broker})
    engine = create_engine(settings)
    try:
        sessions = session_factory(engine)
        async with write_transaction(sessions, "test") as tx:
            for n in range(1_000):
                tx.enqueue("gateway.products_bulk_price_update", {"job_id": 0}, f"relay-test:{n}")
        relays = [
            Relay(
                session_factory(create_engine(settings)),
                CeleryDispatcher(create_celery(settings), settings.broker_timeout_seconds),
                settings,
            )
            for _ in range(2)
        ]

        async def drain(relay: Relay) -> int:
            """Until nothing is pending: an empty claim may only mean the other relay holds it."""
            total = 0
            while await count(settings, outbox, outbox.c.sent_at.is_(None)):
                total += await relay.pump()
                await asyncio.sleep(0)
            return total

        counts = await asyncio.gather(*(drain(relay) for relay in relays))
        assert sum(counts) == 1_000
        assert all(counts), counts  # both took part
        client = redis.Redis.from_url(broker)
        messages = [orjson.loads(m) for m in client.lrange("celery", 0, -1)]
        delivered = sorted(m["headers"]["id"] for m in messages)
        assert delivered == sorted(f"relay-test:{n}" for n in range(1_000))
        for relay in relays:
            relay.dispatcher.close()
            await relay.sessions.kw["bind"].dispose()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def outage_database() -> Iterator[str]:
    """Its own database, so no other test's relay hands these rows to another broker."""
    yield from postgres_database(f"gateway_test_{os.getpid()}_outage")


async def test_broker_outage_and_hang(
    outage_database: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = await seeded(outage_database, 400)
    with private_redis() as server:
        settings = base.model_copy(
            update={
                "celery_broker_url": server.url,
                "broker_timeout_seconds": 1.0,
                "relay_poll_seconds": 0.2,
            }
        )
        log = tmp_path_factory.mktemp("outage") / "worker.log"
        outage_worker = Worker(worker_env(settings, server.url, **WORKER_ENV), log)
        try:
            await _outage(settings, server, log)
        finally:
            outage_worker.stop()


async def _outage(settings: Settings, server: PrivateRedis, log: Path) -> None:
    async with serving(settings) as client:
        boss = Api(client, token(settings, Role.ADMIN, "boss"))
        relay: Relay = client._transport.app.state.gateway.relay  # type: ignore[attr-defined]
        server.stop()
        started = time.monotonic()
        job_id = await start_bulk(boss, 5, percent="1")
        assert time.monotonic() - started < 1.0  # the mutation never waits on the broker
        await asyncio.sleep(0.5)
        assert await count(settings, outbox, outbox.c.sent_at.is_(None)) >= 1
        assert (await boss.query(JOB, {"id": job_id})).data["job"]["status"] == "QUEUED"
        server.start()
        relay.failures = 0
        relay.wake()
        job = await finished(boss, job_id)
        assert (job["status"], job["attempts"]) == ("SUCCEEDED", 1), (job, str(log))

        server.freeze()
        try:
            job_id = await start_bulk(boss, 6, percent="1")
            began = time.monotonic()
            await relay.pump()
            assert time.monotonic() - began < settings.broker_timeout_seconds + 1.5
        finally:
            server.thaw()
        relay.wake()
        job = await finished(boss, job_id)
        assert job["status"] == "SUCCEEDED"
