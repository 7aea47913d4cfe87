"""Database trouble: `gateway serve` starts and answers without PostgreSQL and recovers by itself
when it is back; connections terminated under load fail no read and apply no write twice.

Against a private PostgreSQL server (tests/private_postgres.py) that the tests stop, start and
terminate connections on.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.availability import ConnectFailed, is_unavailable
from db.engine import create_engine
from db.settings import DatabaseSettings
from db.writes.outcome import NOT_WRITTEN, OUTCOME_UNKNOWN
from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import free_port, private_redis
from tests.conftest import seeded, serving, token
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.servers import GatewayServer
from tests.subscribing import local_http, raw_client, registered, rename

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRODUCTS = "{ products(first: 10) { edges { node { name category { name } variants { sku } } } } }"
WATCH = "subscription($id: ID!) { productChanged(id: $id) { kind productId changedFields } }"
ADJUST = """mutation($id: ID!) {
  stockAdjust(variantId: $id, delta: 1) { variant { quantityAvailable } userErrors { code } }
}"""


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


async def _fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def _post(
    client: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any], bearer: str = ""
) -> httpx.Response:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return await client.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def _ready(url: str) -> bool:
    async with local_http() as client:
        return (await client.get(f"{url}/readyz")).status_code == 200


async def _until_ready(url: str) -> None:
    started = time.monotonic()
    while not await _ready(url):
        assert time.monotonic() - started < 10, "not ready 10 s after the database started"
        await asyncio.sleep(0.1)


async def _refused_while_down(
    client: httpx.AsyncClient, url: str, variant: str, bearer: str
) -> None:
    query = await _post(client, url, PRODUCTS, {})
    assert (query.status_code, _codes(query.json())) == (503, ["UNAVAILABLE"])
    assert query.headers["retry-after"] == "2"
    assert query.json()["errors"][0]["message"].startswith("The database is unavailable")
    write = await _post(client, url, ADJUST, {"id": variant}, bearer)
    assert (write.status_code, _codes(write.json())) == (503, ["UNAVAILABLE"])
    assert write.json()["errors"][0]["message"] == NOT_WRITTEN


@pytest.mark.parametrize("redis", [False, True], ids=["embedded", "redis"])
async def test_serve_starts_without_the_database_and_recovers_without_a_restart(
    postgres_server: PrivatePostgres, redis: bool, tmp_path: Path
) -> None:
    url = await postgres_server.create_database("outage_redis" if redis else "outage")
    settings = await seeded(url, 10)
    product_id, variant_id = (
        await _fetch(
            url.replace("+asyncpg", ""),
            "SELECT p.id, v.id FROM products p JOIN product_variants v ON v.product_id = p.id "
            "WHERE p.status = 'ACTIVE' ORDER BY p.id, v.id LIMIT 1",
        )
    )[0]
    product, variant = ids.encode("Product", product_id), ids.encode("ProductVariant", variant_id)
    editor = token(settings, Role.EDITOR, "outage")
    postgres_server.stop()
    async with AsyncExitStack() as stack:
        redis_url = stack.enter_context(private_redis()).url if redis else ""
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "RELAY_POLL_SECONDS": "0.2"}
        server = GatewayServer(env, tmp_path / "serve.log")
        stack.callback(server.stop)
        client = await stack.enter_async_context(local_http())
        ready = await client.get(f"{server.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["dependencies"]["database"]["state"] == "down"
        await _refused_while_down(client, server.url, variant, editor)

        postgres_server.start()
        await _until_ready(server.url)
        query = await _post(client, server.url, PRODUCTS, {})
        assert query.status_code == 200
        assert len(query.json()["data"]["products"]["edges"]) == 10

        subscriber = await stack.enter_async_context(raw_client(server.ws_url))
        await subscriber.init()
        await subscriber.subscribe("1", WATCH, id=product)
        await registered([server.url], 1)
        await rename(server.url, editor, product, "after the outage")
        event = await subscriber.receive()
        assert event["payload"]["data"]["productChanged"]["changedFields"] == ["name"]

        # Down again while running: the pool's connections die, the relay and hub wait.
        postgres_server.stop()
        await _refused_while_down(client, server.url, variant, editor)
        postgres_server.start()
        await _until_ready(server.url)
        await rename(server.url, editor, product, "after the second outage")
        event = await subscriber.receive()
        assert event["payload"]["data"]["productChanged"]["changedFields"] == ["name"]
    assert "Traceback" not in server.log.read_text()


class Load:
    """What the clients saw while connections were being terminated under them."""

    def __init__(self) -> None:
        self.reads = 0
        self.failed_reads: list[Any] = []
        # Outcome per writer subject: "applied", "not written", "unknown" or the body.
        self.writes: dict[str, Any] = {}
        self.terminated = 0


def _write_outcome(response: httpx.Response) -> Any:
    body = response.json()
    if "errors" not in body and body["data"]["stockAdjust"]["userErrors"] == []:
        return "applied"
    if _codes(body) == ["UNAVAILABLE"]:
        message = body["errors"][0]["message"]
        return {NOT_WRITTEN: "not written", OUTCOME_UNKNOWN: "unknown"}.get(message, body)
    return body


async def _reader(url: str, load: Load, until: float) -> None:
    async with local_http() as client:
        while time.monotonic() < until:
            response = await _post(client, url, PRODUCTS, {})
            load.reads += 1
            if response.status_code != 200 or "errors" in response.json():
                load.failed_reads.append(response.json())


async def _writer(
    url: str, settings: Settings, variant: str, name: str, load: Load, until: float
) -> None:
    """Each write adds 1 under its own token subject, which the change log records."""
    async with local_http() as client:
        n = 0
        while time.monotonic() < until:
            subject = f"{name}-{n}"
            bearer = token(settings, Role.EDITOR, subject)
            load.writes[subject] = _write_outcome(
                await _post(client, url, ADJUST, {"id": variant}, bearer)
            )
            n += 1


async def _terminator(dsn: str, database: str, load: Load, until: float) -> None:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        while time.monotonic() < until:
            await asyncio.sleep(0.3)
            load.terminated += len(
                await connection.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
            )
    finally:
        await connection.close()


async def test_terminated_connections_fail_no_read_and_apply_no_write_twice(
    postgres_server: PrivatePostgres, tmp_path: Path
) -> None:
    url = await postgres_server.create_database("terminations")
    settings = await seeded(url, 20)
    dsn = url.replace("+asyncpg", "")
    variant_id, before = (
        await _fetch(dsn, "SELECT id, quantity FROM product_variants ORDER BY id LIMIT 1")
    )[0]
    # No cache, so that every read goes to the database.
    env = {"DATABASE_URL": url, "REDIS_URL": "", "CACHE_ENABLED": "false"}
    server = GatewayServer(env, tmp_path / "serve.log")
    load = Load()
    try:
        until = time.monotonic() + 8
        variant = ids.encode("ProductVariant", variant_id)
        await asyncio.gather(
            _terminator(dsn, "terminations", load, until),
            *(_reader(server.url, load, until) for _ in range(3)),
            *(_writer(server.url, settings, variant, f"w{n}", load, until) for n in range(3)),
        )
    finally:
        server.stop()
    applied = Counter(
        row["actor"]
        for row in await _fetch(
            dsn,
            "SELECT actor FROM changes WHERE entity_type = 'ProductVariant' AND entity_id = $1",
            variant_id,
        )
    )
    after = (await _fetch(dsn, "SELECT quantity FROM product_variants WHERE id = $1", variant_id))[
        0
    ]["quantity"]
    outcomes = Counter(o if isinstance(o, str) else "other" for o in load.writes.values())
    log = server.log.read_text()
    print(
        f"{load.reads} reads, {len(load.failed_reads)} failed; writes {dict(outcomes)}; "
        f"{load.terminated} connections terminated; "
        f"{log.count('running it once more')} reads retried; "
        f"{log.count('during COMMIT')} commits found applied after a drop"
    )
    assert load.failed_reads == []
    assert load.reads > 50
    assert load.terminated > 10
    assert "running it once more" in log  # reads did meet dropped connections
    assert outcomes["other"] == 0, [o for o in load.writes.values() if not isinstance(o, str)]
    assert outcomes["not written"] > 0  # writes did meet dropped connections
    assert max(applied.values()) == 1  # no write was applied twice
    for subject, outcome in load.writes.items():
        assert applied[subject] == {"applied": 1, "not written": 0}.get(outcome, applied[subject])
    assert after - before == sum(applied.values())
    assert set(applied) <= set(load.writes)


class CommitTrap:
    """Acts at the COMMIT of the next transaction that records a change, on its connection."""

    def __init__(self, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.action: Callable[[Any, Callable[[], None]], None] | None = None
        dialect = engine.sync_engine.dialect
        self.commit = dialect.do_commit
        event.listen(engine.sync_engine, "before_cursor_execute", self._mark)
        monkeypatch.setattr(dialect, "do_commit", self._do_commit)

    def _mark(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO changes"):
            connection.connection.info["records_changes"] = True

    def _do_commit(self, connection: Any) -> None:
        action, marked = self.action, connection.info.pop("records_changes", False)
        if action is None or not marked:
            self.commit(connection)
            return
        self.action = None
        action(connection, lambda: self.commit(connection))


def _terminate(connection: Any, commit: Callable[[], None] | None = None) -> None:
    """Commits first if asked, then ends the connection's own server process, as
    pg_terminate_backend from elsewhere would."""
    if commit is not None:
        commit()
    connection.cursor().execute("SELECT pg_terminate_backend(pg_backend_pid())")


async def test_a_write_whose_commit_fails_reports_what_became_of_it(
    postgres_server: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await postgres_server.create_database("commits")
    settings = await seeded(url, 5)
    dsn = url.replace("+asyncpg", "")
    variant_id = (await _fetch(dsn, "SELECT id FROM product_variants ORDER BY id LIMIT 1"))[0][0]

    def stop_the_server(connection: Any, commit: Callable[[], None]) -> None:
        postgres_server.stop()
        commit()

    async with serving(settings) as client:
        state = client._transport.app.state.gateway  # type: ignore[attr-defined]
        trap = CommitTrap(state.engine, monkeypatch)
        cases: list[tuple[str, Callable[[Any, Callable[[], None]], None], int, str | None]] = [
            ("dropped before COMMIT", lambda c, _: _terminate(c), 503, NOT_WRITTEN),
            ("dropped after COMMIT", _terminate, 200, None),
            ("server stopped during COMMIT", stop_the_server, 503, OUTCOME_UNKNOWN),
        ]
        for subject, action, status, message in cases:
            trap.action = action
            response = await _post(
                client,
                "",
                ADJUST,
                {"id": ids.encode("ProductVariant", variant_id)},
                token(settings, Role.EDITOR, subject),
            )
            body = response.json()
            assert response.status_code == status, (subject, body)
            if message is None:
                assert body["data"]["stockAdjust"]["userErrors"] == [], subject
            else:
                assert _codes(body) == ["UNAVAILABLE"], (subject, body)
                assert body["errors"][0]["message"] == message, subject
                assert response.headers["retry-after"] == "2"
        postgres_server.start()
    applied = await _fetch(
        dsn, "SELECT actor FROM changes WHERE entity_type = 'ProductVariant' ORDER BY id"
    )
    # A fast shutdown rolls back the transaction it interrupts.
    assert [row["actor"] for row in applied] == ["dropped after COMMIT"]


async def test_a_refused_or_crowded_connection_is_database_trouble(
    postgres_server: PrivatePostgres,
) -> None:
    await _fetch(postgres_server.dsn(), "CREATE ROLE crowded LOGIN CONNECTION LIMIT 0")
    crowded = f"postgresql+asyncpg://crowded@127.0.0.1:{postgres_server.port}/postgres"
    refused = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
    for url, reason in ((crowded, "53300"), (refused, "ConnectionRefusedError")):
        engine = create_engine(DatabaseSettings(database_url=url))
        try:
            with pytest.raises(ConnectFailed) as raised:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()
        cause = raised.value.__cause__
        assert reason in (getattr(cause, "sqlstate", None), type(cause).__name__)
        assert is_unavailable(raised.value)
