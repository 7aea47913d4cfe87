"""The cache through the API: warm workloads run without SQL, writes are read back at once on any
instance, a sick Redis costs nothing but speed, and nothing leaks between viewers."""

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import private_redis, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import Api, workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
CACHE_DB = 10
PRODUCT = "query($id: ID!) { product(id: $id) { id variants { id price { amount } } } }"


@pytest.fixture(scope="module")
def cache_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_cache")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cache_settings(cache_database: str) -> Settings:
    base = await seeded(cache_database, 400)
    return base.model_copy(update={"redis_url": shared_redis(CACHE_DB)})


@asynccontextmanager
async def instance(settings: Settings, role: Role | None = None) -> AsyncIterator[Api]:
    # Jobs are not under test here: no broker, so the gateway's relay stays in-process.
    async with serving(settings.model_copy(update={"celery_broker_url": None})) as client:
        yield Api(client, token(settings, role) if role else None)


async def warm(api: Api, document: str, variables: dict[str, Any]) -> int:
    for _ in range(2):
        assert (await api.query(document, variables)).errors == []
    return (await api.query(document, variables)).sql


async def test_warm_workloads_need_no_sql(cache_settings: Settings) -> None:
    async with instance(cache_settings) as api:
        products = (await api.query("{ products(first: 1) { edges { node { slug } } } }")).data
        slug = products["products"]["edges"][0]["node"]["slug"]
        assert await warm(api, workload("W1"), {"slug": slug}) == 0
        assert await warm(api, workload("W3"), {}) == 0
        assert await warm(api, workload("W2"), {"slug": "electronics"}) <= 1
        dependencies = (await api.client.get("/readyz")).json()["dependencies"]
        stats = dependencies["cache"]
        assert stats["state"] == "up"
        assert stats["hits"] > 0
        reads = dependencies["database"]["reads"]  # what an operator sees of the direct reads
        assert reads["direct"]["statements"] > 0
        assert reads["direct"]["fallbacks"] == 0
        assert set(reads["kept"]) == {"custom", "generic"}


async def test_no_cross_viewer_leak(cache_settings: Settings) -> None:
    listing = """query($c: ID) { category(id: $c) { productCount products(first: 100) {
      totalCount edges { node { id status } } } } }"""
    category = {"c": ids.encode("Category", 1)}
    async with instance(cache_settings, Role.EDITOR) as editor, instance(cache_settings) as anon:
        staff = (await editor.query(listing, category)).data["category"]
        public = (await anon.query(listing, category)).data["category"]
        for _ in range(2):  # and again, now that both are cached
            staff = (await editor.query(listing, category)).data["category"]
            public = (await anon.query(listing, category)).data["category"]
        statuses = {e["node"]["status"] for e in public["products"]["edges"]}
        assert statuses == {"ACTIVE"}
        assert "DRAFT" in {e["node"]["status"] for e in staff["products"]["edges"]}
        assert staff["productCount"] > public["productCount"]
        draft = next(
            e["node"]["id"] for e in staff["products"]["edges"] if e["node"]["status"] == "DRAFT"
        )
        node = "query($id: ID!) { node(id: $id) { id } }"
        assert (await editor.query(node, {"id": draft})).data["node"] is not None
        assert (await anon.query(node, {"id": draft})).data["node"] is None


async def test_two_hundred_concurrent_requests_for_a_cold_key_cause_one_load(
    cache_settings: Settings,
) -> None:
    async with instance(cache_settings) as api:
        product = ids.encode("Product", 399)
        results = await asyncio.gather(*(api.query(PRODUCT, {"id": product}) for _ in range(200)))
        assert {r.errors == [] for r in results} == {True}
        assert sum(r.sql for r in results) == 2  # one for the product, one for its variants


async def test_read_your_writes_across_instances(cache_settings: Settings) -> None:
    """1,000 random rounds: a price written through one instance is what the next read on
    either instance sees, while other readers race the write."""
    variants_query = "{ products(first: 50) { edges { node { id variants { id } } } } }"
    async with (
        instance(cache_settings, Role.EDITOR) as a,
        instance(cache_settings, Role.EDITOR) as b,
    ):
        listed = (await a.query(variants_query)).data["products"]["edges"]
        pairs = [(e["node"]["id"], v["id"]) for e in listed for v in e["node"]["variants"]]
        rng = random.Random(7)
        stale = 0
        for _ in range(1_000):
            product_id, variant_id = rng.choice(pairs)
            writer, reader = rng.sample([a, b], 2)
            price = f"{Decimal(rng.randint(100, 99_999)) / 100:.2f}"
            racing = [
                asyncio.create_task(rng.choice([a, b]).query(PRODUCT, {"id": product_id}))
                for _ in range(2)
            ]
            written = await writer.query(workload("W5"), {"id": variant_id, "amount": price})
            assert written.data["variantUpdate"]["userErrors"] == []
            await asyncio.gather(*racing)
            for api in (reader, writer):
                seen = (await api.query(PRODUCT, {"id": product_id})).data["product"]["variants"]
                stale += next(v for v in seen if v["id"] == variant_id)["price"]["amount"] != price
        assert stale == 0


async def test_redis_stopped_or_hung_costs_only_speed(cache_settings: Settings) -> None:
    with private_redis() as server:
        settings = cache_settings.model_copy(update={"redis_url": server.url})
        async with instance(settings) as api:
            document, variables = workload("W3"), dict[str, Any]()
            assert await warm(api, document, variables) == 0
            server.stop()
            results = [await api.query(document, variables) for _ in range(20)]
            assert all(r.errors == [] for r in results)
            assert results[-1].sql == 3  # straight to the database, as if cold
            server.start()
            deadline = time.monotonic() + 10
            while (await api.query(document, variables)).sql != 0:  # hits resume, no restart
                assert time.monotonic() < deadline, "the cache never came back"
                await asyncio.sleep(0.1)
            server.freeze()
            try:
                began = time.monotonic()
                hung = await api.query(document, variables)
                assert hung.errors == []
                assert time.monotonic() - began < 2.0
            finally:
                server.thaw()


async def test_concurrent_hits_with_budgets_ride_out_a_hung_redis(cache_settings: Settings) -> None:
    """Sixteen cached responses at once share one generation check and one budget call; with
    Redis hung, each answers from the database within the timeouts (budgets not enforced),
    none is served without its check, and hits resume once Redis answers again. (Hits checked
    in Redis, as where Redis will not push bumps: the watch's own freeze is in
    test_generation_watch.)"""
    with private_redis() as server:
        settings = cache_settings.model_copy(
            update={
                "redis_url": server.url,
                "response_cache_watch": False,
                "budget_enabled": True,
                "budget_anonymous_capacity": 1_000_000,
                "budget_anonymous_restore_per_second": 1_000_000,
            }
        )
        async with instance(settings) as api:
            products = await api.query("{ products(first: 1) { edges { node { slug } } } }")
            slug = products.data["products"]["edges"][0]["node"]["slug"]
            document, variables = workload("W1"), {"slug": slug}
            assert await warm(api, document, variables) == 0
            counts = api.client._transport.app.state.gateway.executor.counts  # type: ignore[attr-defined]
            server.freeze()
            try:
                began = time.monotonic()
                executed = counts["planned"]
                hung = await asyncio.gather(*(api.query(document, variables) for _ in range(16)))
                assert [r.errors for r in hung] == [[]] * 16
                # None served unchecked: the generations could not be read, so each ran (their
                # statements shared by the row cache's in-flight loads).
                assert counts["planned"] - executed == 16
                assert time.monotonic() - began < 3.0
            finally:
                server.thaw()
            deadline = time.monotonic() + 10
            while (await api.query(document, variables)).sql != 0:
                assert time.monotonic() < deadline, "hits never resumed"
                await asyncio.sleep(0.1)
