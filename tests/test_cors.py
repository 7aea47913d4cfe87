"""Browser pages on other origins: CORS for the origins in CORS_ORIGINS and nothing for the rest,
and WebSocket upgrades checked against the same list."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from graph.settings import Settings
from tests.conftest import seeded, serving
from tests.servers import GatewayServer, embedded_gateway
from tests.subscribing import init_outcome, raw_client

SHOP = "https://shop.example"
ADMIN = "http://localhost:3000"
ELSEWHERE = "https://elsewhere.example"
QUERY = {"query": "{ products(first: 1) { totalCount } }"}
APOLLO_HEADERS = "authorization, content-type, apollo-require-preflight, x-apollo-operation-name"


def preflight(origin: str, headers: str = APOLLO_HEADERS) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": headers,
    }


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cors") / "gateway.db"


@asynccontextmanager
async def app_with(database: Path, origins: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = await seeded(f"sqlite+aiosqlite:///{database}", 30)
    async with serving(settings.model_copy(update={"cors_origins": origins})) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def listed(database: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with(database, [SHOP, ADMIN]) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def unlisted(database: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_with(database, []) as client:
        yield client


async def test_a_listed_origin_passes_the_preflight(listed: httpx.AsyncClient) -> None:
    response = await listed.options("/graphql", headers=preflight(SHOP))
    assert response.status_code == 200
    allowed = cors_headers(response)
    assert allowed["access-control-allow-origin"] == SHOP
    assert allowed["access-control-allow-methods"] == "GET, POST, OPTIONS"
    for header in APOLLO_HEADERS.split(", "):
        assert header in allowed["access-control-allow-headers"].lower()
    assert allowed["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in allowed
    assert (await listed.options("/graphql", headers=preflight(ADMIN))).status_code == 200


async def test_a_listed_origin_reads_answers_and_refusals(listed: httpx.AsyncClient) -> None:
    answered = await listed.post("/graphql", json=QUERY, headers={"origin": SHOP})
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in answered.headers["vary"]
    # A page must be able to read why its token was refused, not just see a network error.
    refused = await listed.post(
        "/graphql", json=QUERY, headers={"origin": SHOP, "authorization": "Bearer nope"}
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == SHOP
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_other_origins_get_no_cors_headers(listed: httpx.AsyncClient) -> None:
    for origin in (ELSEWHERE, "null", SHOP + ".evil.example", "http://shop.example"):
        response = await listed.options("/graphql", headers=preflight(origin))
        assert (response.status_code, cors_headers(response)) == (405, {})
        assert "POST" in response.headers["allow"]
        answered = await listed.post("/graphql", json=QUERY, headers={"origin": origin})
        assert (answered.status_code, cors_headers(answered)) == (200, {})
        assert "Origin" in answered.headers["vary"]  # caches keep the listed origins' copies


async def test_requests_without_an_origin_still_vary_by_it(listed: httpx.AsyncClient) -> None:
    """They skip the CORS middleware (graph.app.Gateway), not what it says to caches: a CDN
    must not give a browser page the copy a server-side client got."""
    for response in (
        await listed.post("/graphql", json=QUERY),
        await listed.get("/graphql", params=QUERY),
    ):
        assert response.status_code == 200
        assert cors_headers(response) == {}
        assert "Origin" in response.headers["vary"]
    cacheable = await listed.get("/graphql", params=QUERY)
    assert cacheable.headers["vary"] == "Accept, Authorization, Origin"


async def test_a_listed_origin_may_not_send_other_methods_or_headers(
    listed: httpx.AsyncClient,
) -> None:
    put = {**preflight(SHOP), "access-control-request-method": "PUT"}
    assert (await listed.options("/graphql", headers=put)).status_code == 400
    odd = preflight(SHOP, "x-not-a-graphql-client-header")
    assert (await listed.options("/graphql", headers=odd)).status_code == 400


async def test_without_cors_origins_there_are_no_cors_headers(
    unlisted: httpx.AsyncClient,
) -> None:
    response = await unlisted.options("/graphql", headers=preflight(SHOP))
    assert (response.status_code, cors_headers(response)) == (405, {})
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    answered = await unlisted.post("/graphql", json=QUERY, headers={"origin": SHOP})
    assert (answered.status_code, cors_headers(answered)) == (200, {})


async def test_any_origin_when_listed_as_a_star(database: Path) -> None:
    async with app_with(database, ["*"]) as client:
        response = await client.options("/graphql", headers=preflight(ELSEWHERE))
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for text in (f" {SHOP}/, {ADMIN} ,", f'["{SHOP}", "{ADMIN.upper()}"]'):
        monkeypatch.setenv("CORS_ORIGINS", text)
        assert Settings().cors_origins == [SHOP, ADMIN]
    monkeypatch.setenv("CORS_ORIGINS", "")
    assert Settings().cors_origins == []
    for wrong in ("shop.example", f"{SHOP}/graphql", "ftp://shop.example", "[1,"):
        monkeypatch.setenv("CORS_ORIGINS", wrong)
        with pytest.raises(ValidationError, match="CORS_ORIGINS"):
            Settings()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayServer]:
    env = {"CORS_ORIGINS": f"{SHOP},{ADMIN}"}
    async with embedded_gateway(tmp_path_factory.mktemp("cors-ws"), env) as started:
        yield started


async def test_websockets_from_other_origins_are_refused(server: GatewayServer) -> None:
    ws = server.ws_url
    assert await init_outcome(ws, origin=ELSEWHERE) == 4403
    assert await init_outcome(ws, origin=SHOP + ".evil.example") == 4403
    assert await init_outcome(ws, origin=SHOP) == "ack"
    assert await init_outcome(ws, origin=ADMIN) == "ack"
    assert await init_outcome(ws, origin=None) == "ack"  # not a browser
    assert await init_outcome(ws, origin=server.url) == "ack"  # GraphiQL, served from here
    async with raw_client(ws, origin=ELSEWHERE) as client:
        # The refusal says why, where graphql-ws's closed event and error handlers see it.
        code, reason = await client.closed_with()
        assert (code, reason) == (4403, f"Forbidden: origin {ELSEWHERE} is not allowed")


async def test_the_served_gateway_reads_cors_origins_from_its_environment(
    server: GatewayServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        allowed = await client.options("/graphql", headers=preflight(ADMIN))
        refused = await client.options("/graphql", headers=preflight(ELSEWHERE))
    assert allowed.headers["access-control-allow-origin"] == ADMIN
    assert (refused.status_code, cors_headers(refused)) == (405, {})
