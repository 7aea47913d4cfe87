"""Subscriptions against a running `gateway serve` (PostgreSQL, Redis, a Celery worker), through
the `gql` client and, for what real clients never send, graphql-transport-ws by hand."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from db.global_ids import encode
from graph import ids
from graph.auth import issue
from graph.settings import Settings
from graph.types.events import cursor_sequence, event_cursor
from graph.viewer import Role
from tests.celery_support import Worker, private_redis, shared_redis
from tests.conftest import postgres_database, seeded
from tests.servers import GatewayServer
from tests.subscribing import (
    S1,
    gql_session,
    hub_stats,
    latency_ms,
    local_http,
    percentiles,
    post,
    raw_client,
    registered,
    rename,
    rename_many,
    request,
)
from workers.events import STREAM

pytestmark = pytest.mark.asyncio(loop_scope="session")
SUBSCRIPTIONS_DB = 8
MAX_SUBSCRIPTIONS = 5


@dataclass
class Root:
    id: str
    active: list[str]
    drafts: list[str]
    leaf: str


@dataclass
class Stack:
    server: GatewayServer
    redis_url: str
    dsn: str
    roots: list[Root]
    editor: str
    admin: str


async def _roots(dsn: str) -> list[Root]:
    connection = await asyncpg.connect(dsn)
    try:
        roots = await connection.fetch(
            "SELECT id, path FROM categories WHERE level = 0 ORDER BY id"
        )
        found = []
        for root in roots:
            rows = await connection.fetch(
                "SELECT p.id, p.status, p.category_id FROM products p "
                "JOIN categories c ON c.id = p.category_id WHERE c.path LIKE $1 ORDER BY p.id",
                root["path"] + "%",
            )
            active = [encode("Product", r["id"]) for r in rows if r["status"] == "ACTIVE"]
            drafts = [encode("Product", r["id"]) for r in rows if r["status"] == "DRAFT"]
            leaf = encode("Category", rows[0]["category_id"])
            found.append(Root(encode("Category", root["id"]), active, drafts, leaf))
        return found
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def subscriptions_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_subscriptions")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    subscriptions_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    settings = await seeded(subscriptions_database, 2_000)
    redis_url = shared_redis(SUBSCRIPTIONS_DB)
    env = {
        "DATABASE_URL": subscriptions_database,
        "REDIS_URL": redis_url,
        "RELAY_POLL_SECONDS": "0.2",
        "WS_INIT_TIMEOUT_SECONDS": "1",
        "WS_MAX_SUBSCRIPTIONS": str(MAX_SUBSCRIPTIONS),
        "WS_KEEPALIVE_SECONDS": "2",
    }
    logs = tmp_path_factory.mktemp("subscriptions")
    worker = Worker(env, logs / "worker.log")
    server = GatewayServer(env, logs / "serve.log")
    try:
        dsn = subscriptions_database.replace("+asyncpg", "")
        yield Stack(
            server,
            redis_url,
            dsn,
            await _roots(dsn),
            _token(settings, Role.EDITOR),
            _token(settings, Role.ADMIN),
        )
    finally:
        server.stop()
        worker.stop()
        log = (logs / "serve.log").read_text()
        assert "Traceback" not in log, log[-5_000:]


def _token(settings: Settings, role: Role, ttl: timedelta = timedelta(hours=1)) -> str:
    return issue(settings, role, "subscriber", ttl)


async def subscribed(stack: Stack, count: int) -> None:
    await registered([stack.server.url], count)


async def collect(
    session: Any, query: str, count: int, into: list[tuple[dict[str, Any], float]], **variables: Any
) -> None:
    async for result in session.subscribe(request(query, **variables)):
        into.append((next(iter(result.values())), time.time()))
        if len(into) == count:
            return


async def test_the_s1_workload_streams_a_categorys_changes_with_the_current_product(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, elsewhere = stack.roots[0], stack.roots[9]
    events: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url) as session:
        listening = asyncio.create_task(collect(session, S1, 3, events, categoryId=root.id))
        await subscribed(stack, 1)
        await rename(stack.server.url, stack.editor, elsewhere.active[0], "not in the category")
        names = [f"S1 rename {n}" for n in range(3)]
        for product, name in zip(root.active, names, strict=False):
            await rename(stack.server.url, stack.editor, product, name)
        await asyncio.wait_for(listening, 10)
    received = [event for event, _ in events]
    assert [e["product"]["name"] for e in received] == names
    assert [e["productId"] for e in received] == root.active[:3]
    assert {e["kind"] for e in received} == {"UPDATED"}
    assert all(e["changedFields"] == ["name"] for e in received)
    assert all(e["product"]["priceRange"]["min"]["currency"] for e in received)
    cursors = [cursor_sequence(e["cursor"]) for e in received]
    assert cursors == sorted(set(cursors))
    with capsys.disabled():  # measurements belong in the test output
        print("\nS1 delivery latency:", percentiles([latency_ms(e, at) for e, at in events]))


@pytest.mark.parametrize("source", ["stream", "table"])
async def test_a_client_resumes_from_its_last_cursor_then_gets_live_events(
    stack: Stack, source: str
) -> None:
    root = stack.roots[1 if source == "stream" else 2]
    url, editor = stack.server.url, stack.editor
    first: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url) as session:
        listening = asyncio.create_task(collect(session, S1, 1, first, categoryId=root.id))
        await subscribed(stack, 1)
        await rename(url, editor, root.active[0], f"{source} before the drop")
        await asyncio.wait_for(listening, 10)
    cursor = first[0][0]["cursor"]

    missed = [(root.active[n % len(root.active)], f"{source} missed {n}") for n in range(100)]
    await rename_many(url, editor, missed)
    redis = Redis.from_url(stack.redis_url)
    try:
        if source == "table":
            await asyncio.sleep(0.5)  # let the relay publish them, then lose them from the stream
            await redis.xtrim(STREAM, maxlen=0, approximate=False)
            assert await redis.xlen(STREAM) == 0
    finally:
        await redis.aclose()

    events: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url) as session:
        listening = asyncio.create_task(
            collect(session, S1, 101, events, categoryId=root.id, after=cursor)
        )
        for _ in range(200):
            if len(events) >= 100:
                break
            await asyncio.sleep(0.05)
        await rename(url, editor, root.active[1], f"{source} live")
        await asyncio.wait_for(listening, 20)
    names = [event["product"]["name"] for event, _ in events]
    # Each missed change once, in order; the product shows its state now, so check ids+cursors.
    assert [event["productId"] for event, _ in events[:100]] == [p for p, _ in missed]
    sequences = [cursor_sequence(event["cursor"]) for event, _ in events]
    assert sequences == sorted(set(sequences))
    assert sequences[0] > cursor_sequence(cursor)
    assert names[-1] == f"{source} live"


async def test_anonymous_subscribers_see_public_products_only(stack: Stack) -> None:
    root = stack.roots[3]
    url, editor = stack.server.url, stack.editor
    assert root.drafts, "the seed puts drafts in every root"
    shown, hidden, later = root.active[0], root.drafts[0], root.active[1]
    events: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url) as session:
        listening = asyncio.create_task(collect(session, S1, 3, events, categoryId=root.id))
        await subscribed(stack, 1)
        await rename(url, editor, hidden, "a draft's new name")
        await rename(url, editor, shown, "public rename")
        body = await post(
            url,
            "mutation($id: ID!) { productUpdate(id: $id, input: {status: DRAFT}) "
            "{ userErrors { code } } }",
            {"id": shown},
            editor,
        )
        assert body["data"]["productUpdate"]["userErrors"] == []
        await rename(url, editor, shown, "renamed while a draft")
        created = await post(
            url,
            'mutation($c: ID!) { productCreate(input: {slug: "never-public", name: "New", '
            "categoryId: $c}) { product { status } userErrors { code } } }",
            {"c": root.leaf},
            editor,
        )
        assert created["data"]["productCreate"]["product"] == {"status": "DRAFT"}
        deleted = await post(
            url,
            "mutation($id: ID!) { productDelete(id: $id) { userErrors { code } } }",
            {"id": hidden},
            editor,
        )
        assert deleted["data"]["productDelete"]["userErrors"] == []
        await rename(url, editor, later, "public again")
        await asyncio.wait_for(listening, 10)
    received = [event for event, _ in events]
    assert [(e["productId"], e["changedFields"]) for e in received] == [
        (shown, ["name"]),
        (shown, ["status"]),
        (later, ["name"]),
    ]
    assert received[1]["product"] is None  # it became a draft: hidden, but its exit is news
    # Never public: its creation as a draft and its deletion were not shown either.


JOB_UPDATED = """subscription($id: ID!) {
  jobUpdated(id: $id) { cursor kind jobId changedFields job { status progress attempts } }
}"""


async def test_job_updated_streams_a_bulk_job_until_it_finishes(stack: Stack) -> None:
    root = stack.roots[4]
    body = await post(
        stack.server.url,
        'mutation($c: ID!) { productsBulkPriceUpdate(categoryId: $c, percent: "5") '
        "{ job { id } userErrors { code } } }",
        {"c": root.leaf},
        stack.admin,
    )
    job_id = body["data"]["productsBulkPriceUpdate"]["job"]["id"]
    events: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url, stack.editor) as session:
        await asyncio.wait_for(collect(session, JOB_UPDATED, 1_000, events, id=job_id), 30)
    received = [event for event, _ in events]
    assert {e["jobId"] for e in received} == {job_id}
    assert received[-1]["job"]["status"] == "SUCCEEDED"
    assert "finishedAt" in received[-1]["changedFields"]
    sequences = [cursor_sequence(e["cursor"]) for e in received]
    assert sequences == sorted(set(sequences))

    # Subscribing to a finished job: its final change, then the end.
    again: list[tuple[dict[str, Any], float]] = []
    async with gql_session(stack.server.ws_url, stack.editor) as session:
        await asyncio.wait_for(collect(session, JOB_UPDATED, 1_000, again, id=job_id), 10)
    assert [event["cursor"] for event, _ in again] == [received[-1]["cursor"]]


async def test_a_subscriber_that_never_reads_is_closed_and_the_others_keep_up(
    stack: Stack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """10,000 events: the stalled subscriber's queue overflows, it is told why and closed; the
    reading one gets every event; the server's memory stays bounded."""
    root = stack.roots[5]
    product = ids.decode_as(root.active[0], "Product")
    category = ids.decode_as(root.id, "Category")
    heavy = (
        "subscription($c: ID!) { productChanged(categoryId: $c) { cursor product { "
        "description variants { sku name price { amount } } images { url alt } "
        "category { name ancestors { name } } } } }"
    )
    light = "subscription($c: ID!) { productChanged(categoryId: $c) { cursor occurredAt } }"
    rss_before = stack.server.rss_bytes()
    async with raw_client(stack.server.ws_url) as stalled, raw_client(stack.server.ws_url) as fast:
        await stalled.init()
        await stalled.subscribe("stalled", heavy, c=root.id)
        await fast.init()
        await fast.subscribe("fast", light, c=root.id)
        await subscribed(stack, 2)

        received: list[tuple[dict[str, Any], float]] = []

        async def read_all() -> None:
            while len(received) < 10_000:
                message = await fast.receive(30)
                assert message["type"] == "next", message
                received.append((message["payload"]["data"]["productChanged"], time.time()))

        reading = asyncio.create_task(read_all())
        deepest = 0
        connection = await asyncpg.connect(stack.dsn)
        try:
            for burst in range(20):
                await connection.execute(
                    "INSERT INTO changes (entity_type, entity_id, kind, changed_fields, "
                    "category_ids, actor, occurred_at, values) SELECT 'Product', $1, 'UPDATED', "
                    "'[\"name\"]'::json, $2::json, 'overflow test', clock_timestamp(), "
                    '\'{"status": "ACTIVE"}\'::json '
                    "FROM generate_series(1, 500)",
                    product,
                    f"[{category}]",
                )
                deepest = max(deepest, (await hub_stats(stack.server.url))["queued"])
                await asyncio.sleep(0.5)  # 1,000 events/s: what a reading subscriber keeps up with
                # On a busy machine the reader may lag a burst; the next waits for it to be
                # within half a queue, so only the subscriber that never reads overflows.
                inserted = 500 * (burst + 1)
                deadline = time.monotonic() + 30
                while len(received) < inserted - 500 and time.monotonic() < deadline:
                    deepest = max(deepest, (await hub_stats(stack.server.url))["queued"])
                    await asyncio.sleep(0.05)
        finally:
            await connection.close()
        while not reading.done():
            deepest = max(deepest, (await hub_stats(stack.server.url))["queued"])
            await asyncio.sleep(0.1)
        await reading
        stats = await hub_stats(stack.server.url)
        rss_after = stack.server.rss_bytes()

        assert len(received) == 10_000
        sequences = [cursor_sequence(event["cursor"]) for event, _ in received]
        assert sequences == sorted(set(sequences))
        assert stats["overflows"] >= 1
        assert deepest <= 2 * 1_000  # two queues, each bounded by SUBSCRIPTION_QUEUE_SIZE
        assert rss_after - rss_before < 100 * 2**20

        # The stalled client, reading at last, finds why it was closed.
        delivered = 0
        while True:
            message = await stalled.receive(30)
            if message["type"] != "next":
                break
            delivered += 1
        assert (message["type"], message["id"]) == ("error", "stalled"), message
        assert message["payload"][0]["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
        assert delivered < 10_000
    with capsys.disabled():  # measurements belong in the test output
        print(
            f"overflow: stalled subscriber closed after {delivered} events; the other got all "
            f"10,000, delivery {percentiles([latency_ms(e, at) for e, at in received])}; "
            f"server RSS {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB"
        )


async def _refused_with(
    stack: Stack, query: str, token: str | None = None, **variables: Any
) -> str:
    async with raw_client(stack.server.ws_url) as client:
        await client.init({"authorization": f"Bearer {token}"} if token else None)
        await client.subscribe("1", query, **variables)
        message = await client.receive()
    assert (message["type"], message["id"]) == ("error", "1"), message
    code: str = message["payload"][0]["extensions"]["code"]
    return code


async def test_bad_input_gets_a_close_code_or_an_error_and_the_server_serves_on(
    stack: Stack,
) -> None:
    root, ws = stack.roots[6], stack.server.ws_url
    one = "subscription($id: ID) { productChanged(id: $id) { cursor } }"
    after = "subscription($a: String) { productChanged(after: $a) { cursor } }"
    assert await _refused_with(stack, one, id=encode("Product", 99_999_999)) == "BAD_USER_INPUT"
    assert await _refused_with(stack, one, id="not an id") == "BAD_USER_INPUT"
    assert await _refused_with(stack, one, id=root.id) == "BAD_USER_INPUT"  # a category's id
    assert await _refused_with(stack, after, a="bm9wZQ==") == "BAD_USER_INPUT"
    future = event_cursor(999_999_999)
    assert await _refused_with(stack, after, a=future) == "BAD_USER_INPUT"
    job = 'subscription { jobUpdated(id: "Sm9iOjE=") { cursor } }'
    assert await _refused_with(stack, job) == "UNAUTHENTICATED"
    assert await _refused_with(stack, "subscription { nope }") == "GRAPHQL_VALIDATION_FAILED"
    assert await _refused_with(stack, "subscription {") == "GRAPHQL_PARSE_FAILED"

    async with raw_client(ws) as client:  # subscribing before connection_init
        await client.subscribe("1", one)
        assert (await client.closed_with())[0] == 4401
    settings = Settings()
    for token in ("not-a-jwt", _token(settings, Role.EDITOR, timedelta(seconds=-5))):
        async with raw_client(ws) as client:  # a bad, then an expired token
            await client.send({"type": "connection_init", "payload": {"authorization": token}})
            assert (await client.closed_with())[0] == 4403
    long_id = "x" * 200  # a close reason holds 123 bytes at most: it is cut, not an error
    async with raw_client(ws) as client:
        await client.init()
        await client.subscribe(long_id, one, id=root.active[0])
        await client.subscribe(long_id, one, id=root.active[0])
        code, reason = await client.closed_with()
        assert (code, len(reason.encode()) <= 123) == (4409, True)
    deep = "[" * 300 + "1" + "]" * 300  # deeper than orjson writes, though it reads it
    async with raw_client(ws) as client:
        await client.init()
        await client.send(
            f'{{"type": "subscribe", "id": "1", "payload": {{"query": {json.dumps(one)}, '
            f'"variables": {{"deep": {deep}}}}}}}'
        )
        refused = await client.receive()
        assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", refused
    async with raw_client(ws) as client:  # a connection lives as long as its token
        await client.init({"token": _token(settings, Role.EDITOR, timedelta(seconds=2))})
        await client.subscribe("1", one, id=root.active[0])
        assert (await client.closed_with())[0] == 4403
    async with raw_client(ws) as client:  # no connection_init in time (1 s here)
        assert (await client.closed_with())[0] == 4408
    async with raw_client(ws) as client:
        await client.init()
        await client.send({"type": "connection_init"})
        assert (await client.closed_with())[0] == 4429
    async with raw_client(ws) as client:
        await client.init()
        await client.send("{not json")
        assert (await client.closed_with())[0] == 4400
    async with raw_client(ws) as client:
        await client.init()
        await client.subscribe("same", one, id=root.active[0])
        await client.subscribe("same", one, id=root.active[0])
        assert (await client.closed_with())[0] == 4409
    async with raw_client(ws, ("graphql-ws",)) as client:  # the legacy protocol is off
        assert (await client.closed_with())[0] == 4406
    async with raw_client(ws) as client:  # the server pings (every 2 s here)
        await client.init()
        ping = orjson.loads(await asyncio.wait_for(client.connection.recv(), 5))
        assert ping == {"type": "ping"}

    # Too many subscriptions: the extra one is refused, the others keep receiving.
    async with raw_client(ws) as client:
        await client.init()
        for n in range(MAX_SUBSCRIPTIONS + 1):
            await client.subscribe(str(n), one, id=root.active[0])
        refused = await client.receive()
        assert refused["id"] == str(MAX_SUBSCRIPTIONS)
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        await subscribed(stack, MAX_SUBSCRIPTIONS)
        await rename(stack.server.url, stack.editor, root.active[0], "still served")
        ids = {(await client.receive())["id"] for _ in range(MAX_SUBSCRIPTIONS)}
        assert ids == {str(n) for n in range(MAX_SUBSCRIPTIONS)}

    # Queries go over the socket too, and HTTP refuses subscriptions with a pointer to it.
    async with gql_session(ws) as session:
        result = await session.execute(
            request(
                "{ product(id: $id) { id } }".replace("{ product", "query($id: ID) { product"),
                id=root.active[0],
            )
        )
        assert result == {"product": {"id": root.active[0]}}
    async with local_http() as http:
        response = await http.post(f"{stack.server.url}/graphql", json={"query": S1})
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_a_failing_field_in_one_subscription_does_not_end_the_others(stack: Stack) -> None:
    """graphql-core cancels the siblings of a field that fails; the loads they were waiting on
    are shared by every subscription of the batch, which must still get their values."""
    root = stack.roots[7]
    failing = (
        "subscription($c: ID!) { productChanged(categoryId: $c) { cursor "
        "product { category { name } images(first: 999) { url } } } }"
    )
    sound = (
        "subscription($c: ID!) { productChanged(categoryId: $c) { cursor "
        "product { name category { name } } } }"
    )
    async with raw_client(stack.server.ws_url) as bad, raw_client(stack.server.ws_url) as good:
        await bad.init()
        await bad.subscribe("bad", failing, c=root.id)
        await good.init()
        await good.subscribe("good", sound, c=root.id)
        await subscribed(stack, 2)
        names = [f"sibling {n}" for n in range(3)]
        for name in names:
            await rename(stack.server.url, stack.editor, root.active[0], name)
        received = [await good.receive() for _ in names]
        refused = await bad.receive()
    shown = [m["payload"]["data"]["productChanged"]["product"]["name"] for m in received]
    # The product as it is when its batch is read: the newest name by the last event.
    assert set(shown) <= set(names)
    assert shown[-1] == names[-1]
    assert refused["type"] == "next"
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_changes_recorded_without_a_status_are_judged_by_the_product_now(
    stack: Stack,
) -> None:
    """Rows an older version wrote carry no status: an anonymous subscriber gets those of
    products public now, and not those of drafts."""
    root = stack.roots[8]
    assert root.drafts, "the seed puts drafts in every root"
    public = ids.decode_as(root.active[0], "Product")
    draft = ids.decode_as(root.drafts[0], "Product")
    category = ids.decode_as(root.id, "Category")
    watch = "subscription($c: ID!) { productChanged(categoryId: $c) { productId } }"
    async with raw_client(stack.server.ws_url) as client:
        await client.init()
        await client.subscribe("old", watch, c=root.id)
        await subscribed(stack, 1)
        connection = await asyncpg.connect(stack.dsn)
        try:
            for product in (draft, public):
                await connection.execute(
                    "INSERT INTO changes (entity_type, entity_id, kind, changed_fields, "
                    "category_ids, actor, occurred_at) VALUES ('Product', $1, 'UPDATED', "
                    "'[\"name\"]'::json, $2::json, 'older version', clock_timestamp())",
                    product,
                    f"[{category}]",
                )
        finally:
            await connection.close()
        received = await client.receive()
    assert received["payload"]["data"]["productChanged"]["productId"] == root.active[0]


async def test_changes_made_while_redis_is_down_arrive_once_it_is_back(
    stack: Stack, tmp_path: Path
) -> None:
    """Redis (stream, cache and broker) stops; mutations still commit; it comes back empty.
    The relay refills the stream and the subscriber gets what was committed meanwhile."""
    root = stack.roots[9]
    watch = "subscription($c: ID!) { productChanged(categoryId: $c) { cursor productId } }"
    with private_redis() as redis_server:
        env = {
            "DATABASE_URL": stack.dsn.replace("postgresql://", "postgresql+asyncpg://"),
            "REDIS_URL": redis_server.url,
            "RELAY_POLL_SECONDS": "0.2",
        }
        server = GatewayServer(env, tmp_path / "serve.log")
        try:
            async with raw_client(server.ws_url) as client:
                await client.init()
                await client.subscribe("1", watch, c=root.id)
                await registered([server.url], 1)
                await rename(server.url, stack.editor, root.active[0], "before the outage")
                first = await client.receive()
                redis_server.stop()
                during = [root.active[1], root.active[2]]
                for n, product in enumerate(during):
                    await rename(server.url, stack.editor, product, f"during the outage {n}")
                redis_server.start()
                later = [await client.receive(30) for _ in during]
        finally:
            server.stop()
    assert first["payload"]["data"]["productChanged"]["productId"] == root.active[0]
    got = [m["payload"]["data"]["productChanged"] for m in later]
    assert [event["productId"] for event in got] == during
    sequences = [
        cursor_sequence(m["payload"]["data"]["productChanged"]["cursor"]) for m in [first, *later]
    ]
    assert sequences == sorted(set(sequences))
