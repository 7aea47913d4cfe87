"""Fan-out across instances: two `gateway serve` processes and a Celery worker share PostgreSQL
and Redis; 50 `gql` subscribers spread over both receive every one of 1,000 changes made
through both instances and by a bulk job, in commit order."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from db.global_ids import encode
from graph.auth import issue
from graph.settings import Settings
from graph.types.events import cursor_sequence
from graph.viewer import Role
from tests.celery_support import Worker, shared_redis
from tests.conftest import postgres_database, seeded
from tests.servers import GatewayServer
from tests.subscribing import (
    S1,
    gql_session,
    hub_stats,
    latency_ms,
    percentiles,
    post,
    registered,
    rename_many,
    request,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
FANOUT_DB = 7
SUBSCRIBERS = 50
CHANGES = 1_000


@pytest.fixture(scope="module")
def fanout_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_fanout")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def servers(
    fanout_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[GatewayServer]]:
    await seeded(fanout_database, 2_000)
    env = {
        "DATABASE_URL": fanout_database,
        "REDIS_URL": shared_redis(FANOUT_DB),
        "RELAY_POLL_SECONDS": "0.5",
        # One batch, so the job records one change per product and the total is known.
        "BULK_BATCH_SIZE": "100000",
    }
    logs = tmp_path_factory.mktemp("fanout")
    worker = Worker(env, logs / "worker.log")
    started = [GatewayServer(env, logs / f"serve-{n}.log") for n in range(2)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()
        worker.stop()


async def _catalog(dsn: str) -> tuple[int, list[int], int, int]:
    """A root, its products, and a leaf below it with the number of products it holds."""
    connection = await asyncpg.connect(dsn)
    try:
        root = await connection.fetchrow(
            "SELECT id, path FROM categories WHERE level = 0 ORDER BY id LIMIT 1"
        )
        assert root is not None
        products = await connection.fetch(
            "SELECT p.id, p.category_id FROM products p JOIN categories c ON c.id = p.category_id "
            "WHERE c.path LIKE $1 ORDER BY p.id",
            root["path"] + "%",
        )
        per_leaf: dict[int, int] = {}
        for row in products:
            per_leaf[row["category_id"]] = per_leaf.get(row["category_id"], 0) + 1
        leaf = max(per_leaf, key=lambda c: per_leaf[c])
        return root["id"], [row["id"] for row in products], leaf, per_leaf[leaf]
    finally:
        await connection.close()


async def _product_changes(dsn: str, root: int, after: int) -> list[int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id FROM changes WHERE entity_type = 'Product' AND id > $1 "
            "AND category_ids::jsonb @> $2::jsonb ORDER BY id",
            after,
            f"[{root}]",
        )
        return [row["id"] for row in rows]
    finally:
        await connection.close()


async def _newest_change(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM changes"))
    finally:
        await connection.close()


async def test_fifty_subscribers_on_two_instances_receive_every_change_in_order(
    servers: list[GatewayServer], fanout_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = fanout_database.replace("+asyncpg", "")
    settings = Settings()
    editor = issue(settings, Role.EDITOR, "fanout", timedelta(hours=1))
    admin = issue(settings, Role.ADMIN, "fanout", timedelta(hours=1))
    root, products, leaf, in_leaf = await _catalog(dsn)
    root_id = encode("Category", root)
    start = await _newest_change(dsn)

    received: list[list[tuple[dict[str, Any], float]]] = [[] for _ in range(SUBSCRIBERS)]
    ready = asyncio.Event()
    connected = 0

    async def subscribe(n: int) -> None:
        nonlocal connected
        server = servers[n % 2]
        async with gql_session(server.ws_url, editor) as session:
            subscription = session.subscribe(request(S1, categoryId=root_id))
            first = asyncio.ensure_future(anext(subscription))
            connected += 1
            if connected == SUBSCRIBERS:
                ready.set()
            result = await first
            received[n].append((result["productChanged"], time.time()))
            async for result in subscription:
                received[n].append((result["productChanged"], time.time()))
                if len(received[n]) == CHANGES:
                    break
            await subscription.aclose()

    listeners = [asyncio.create_task(subscribe(n)) for n in range(SUBSCRIBERS)]
    await asyncio.wait_for(ready.wait(), 30)
    await registered([server.url for server in servers], SUBSCRIBERS)

    renames = [
        (encode("Product", products[n % len(products)]), f"fan-out {n}")
        for n in range(CHANGES - in_leaf)
    ]
    halves = renames[::2], renames[1::2]

    async def bulk_job() -> None:
        await asyncio.sleep(0.5)  # while the renames are under way
        body = await post(
            servers[0].url,
            'mutation($c: ID!) { productsBulkPriceUpdate(categoryId: $c, percent: "3") '
            "{ userErrors { code } } }",
            {"c": encode("Category", leaf)},
            admin,
        )
        assert body["data"]["productsBulkPriceUpdate"]["userErrors"] == []

    await asyncio.gather(
        rename_many(servers[0].url, editor, halves[0]),
        rename_many(servers[1].url, editor, halves[1]),
        bulk_job(),
    )
    await asyncio.wait_for(asyncio.gather(*listeners), 120)

    expected = await _product_changes(dsn, root, start)
    assert len(expected) == CHANGES
    for events in received:
        assert [cursor_sequence(event["cursor"]) for event, _ in events] == expected
    # The 25 subscribers of an instance share one execution per event.
    for stats in [await hub_stats(server.url) for server in servers]:
        assert stats["executions"] == CHANGES
        assert stats["sharedResults"] == (SUBSCRIBERS // 2 - 1) * CHANGES
    samples = [latency_ms(event, at) for events in received for event, at in events]
    with capsys.disabled():  # measurements belong in the test output
        print(
            f"\nfan-out: {SUBSCRIBERS} subscribers on 2 instances, {CHANGES} changes "
            f"({len(renames)} renames through both, {in_leaf} by a bulk job on a worker): "
            f"100% delivered in order; delivery latency {percentiles(samples)}"
        )
