"""Deadlines, response size and production defaults: an operation cannot run or grow forever, and
a production gateway shows no GraphiQL and answers no introspection unless told to."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx

from graph.settings import Settings
from tests.conftest import serving
from tests.support import workload

SECRET = "a-production-secret-of-forty-characters!"


async def test_a_query_past_its_deadline_gets_timeout_and_the_gateway_serves_on(
    settings: Settings,
) -> None:
    hasty = settings.model_copy(update={"operation_timeout_seconds": 0.000_001})
    async with serving(hasty) as client:
        for _ in range(20):
            response = await client.post("/graphql", json={"query": workload("W3")})
            assert response.status_code == 504
            body = response.json()
            assert [e["extensions"]["code"] for e in body["errors"]] == ["TIMEOUT"]
            assert "deadline" in body["errors"][0]["message"]
    async with serving(settings) as client:
        body = (await client.post("/graphql", json={"query": workload("W3")})).json()
        assert len(body["data"]["categories"]["edges"]) == 20
    if not settings.is_sqlite:
        assert await settled_statements(settings.database_url) == []


async def settled_statements(database_url: str, seconds: float = 2.0) -> list[str]:
    """Statements still running once those the app's shutdown cancelled have ended (a
    background poll cancelled mid-statement ends a moment later, on its own): what a timed-out
    operation left behind would still run (statement_timeout is 30 s)."""
    deadline = time.monotonic() + seconds
    running = await active_statements(database_url)
    while running and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        running = await active_statements(database_url)
    return running


async def active_statements(database_url: str) -> list[str]:
    """Statements still running in the database, but this probe's own."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["query"] for row in rows]


async def test_a_response_over_the_size_limit_is_refused(settings: Settings) -> None:
    small = settings.model_copy(update={"max_response_bytes": 2_000})
    async with serving(small) as client:
        body = (await client.post("/graphql", json={"query": workload("W3")})).json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RESPONSE_TOO_LARGE"]
        assert "2000" in body["errors"][0]["message"]
        assert "data" not in body
        tiny = "{ categories(first: 1) { totalCount } }"
        assert "data" in (await client.post("/graphql", json={"query": tiny})).json()


async def test_production_hides_graphiql_and_introspection(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": "production", "jwt_secret": SECRET})
    introspection = {"query": "{ __schema { queryType { name } } }"}
    async with serving(production) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert "GraphiQL" not in page.text
        body = (await client.post("/graphql", json=introspection)).json()
        assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
        assert "introspection" in body["errors"][0]["message"].lower()
        assert "data" not in body
        typename = (await client.post("/graphql", json={"query": "{ __typename }"})).json()
        assert typename["data"] == {"__typename": "Query"}
    opened = production.model_copy(update={"introspection": True, "graphiql": True})
    async with serving(opened) as client:
        assert "data" in (await client.post("/graphql", json=introspection)).json()
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert "GraphiQL" in page.text


async def test_a_chunked_body_is_read_no_further_than_the_limit(settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 100_000

    small = settings.model_copy(update={"max_body_bytes": 1_000_000})
    async with serving(small) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413


async def test_every_response_carries_its_cost(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": "{ __typename }"})).json()
    assert body["extensions"]["cost"] == {"requested": 0, "actual": 0, "limit": 10_000}
