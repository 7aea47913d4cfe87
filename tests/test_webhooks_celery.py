"""Webhook deliveries through a real Redis broker and a real `gateway worker` process, retried by
Celery itself (PostgreSQL only, like the other worker tests)."""

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import Worker, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import Api
from tests.test_webhooks import (
    SECRET,
    deliveries,
    new_product,
    renamed_event,
    subscribed,
)
from tests.webhook_receiver import Receiver
from workers import webhook_message

BROKER_DB = 13


@pytest.fixture(scope="module")
def celery_hooks_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_webhooks_celery")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def celery_hooks_settings(celery_hooks_database: str) -> Settings:
    base = await seeded(celery_hooks_database, 20)
    return base.model_copy(
        update={
            "celery_broker_url": shared_redis(BROKER_DB),
            "relay_poll_seconds": 0.2,
            "webhook_allow_private": True,  # the receiver listens on 127.0.0.1
        }
    )


@pytest.fixture(scope="module")
def hooks_worker(
    celery_hooks_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    assert celery_hooks_settings.celery_broker_url
    env = {
        "DATABASE_URL": celery_hooks_settings.database_url,
        "CELERY_BROKER_URL": celery_hooks_settings.celery_broker_url,
        "TASK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_MAX_ATTEMPTS": "3",
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    started = Worker(env, tmp_path_factory.mktemp("hooks-worker") / "worker.log")
    yield started
    started.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def celery_hooks_client(
    celery_hooks_settings: Settings,
) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(celery_hooks_settings) as client:
        yield client


async def test_a_worker_retries_a_failed_delivery_under_the_same_event_id(
    hooks_worker: Worker, celery_hooks_client: httpx.AsyncClient, celery_hooks_settings: Settings
) -> None:
    admin = Api(celery_hooks_client, token(celery_hooks_settings, Role.ADMIN, "admin"))
    editor = Api(celery_hooks_client, token(celery_hooks_settings, Role.EDITOR, "editor"))
    product = await new_product(editor)
    async with (
        Receiver(statuses=[500]) as receiver,
        subscribed(admin, receiver.url, ["product.updated"]) as hook,
    ):
        change = await renamed_event(editor, admin, product, "Through Celery")
        first, second = await receiver.received(2, seconds=60)
        event_id = f"change-{change['sequence']}"
        assert [r.headers["x-gateway-event-id"] for r in (first, second)] == [event_id] * 2
        assert [r.headers["x-gateway-attempt"] for r in (first, second)] == ["1", "2"]
        assert first.body == second.body
        assert second.signed_with(SECRET)
        webhook_message.verify(SECRET, second.headers, second.body)
        log = await deliveries(admin, hook, 2)
        assert [(d["attempt"], d["succeeded"], d["statusCode"]) for d in log] == [
            (2, True, 200),
            (1, False, 500),
        ], str(hooks_worker.log)
