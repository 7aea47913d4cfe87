"""GraphQL over HTTP as the graphql-over-http specification describes it."""

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from graph.app import create_app
from graph.settings import Settings

GQL_RESPONSE = "application/graphql-response+json"
QUERY = "{ categories(first: 1) { edges { node { slug } } } }"


async def test_get_runs_queries(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": QUERY})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"]["categories"]["edges"][0]["node"]["slug"] == "electronics"


async def test_get_refuses_mutations_with_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { anything }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_graphql_response_json_is_used_when_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": QUERY}, headers={"accept": f"{GQL_RESPONSE}, application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GQL_RESPONSE)


@pytest.mark.parametrize(
    ("accept", "status"), [(GQL_RESPONSE, 400), ("application/json", 200), (None, 200)]
)
async def test_parse_and_validation_errors(
    client: httpx.AsyncClient, accept: str | None, status: int
) -> None:
    headers = {"accept": accept} if accept else {}
    for query, code in [
        ("{ products(", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
    ]:
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code == status
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == code


async def test_variables_that_do_not_coerce(client: httpx.AsyncClient) -> None:
    document = "query($n: Int) { products(first: $n) { totalCount } }"
    response = await client.post(
        "/graphql",
        json={"query": document, "variables": {"n": "many"}},
        headers={"accept": GQL_RESPONSE},
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"[]", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"variables": {}}}, 400),
        ({"json": {"query": QUERY, "variables": [1]}}, 400),
        ({"json": {"query": QUERY, "operationName": 5}}, 400),
        ({"content": QUERY.encode(), "headers": {"content-type": "text/plain"}}, 415),
        ({"json": {"query": QUERY}, "headers": {"accept": "text/plain"}}, 406),
        ({"content": b"x" * 4_000_001, "headers": {"content-type": "application/json"}}, 413),
    ],
)
async def test_malformed_requests(
    client: httpx.AsyncClient, kwargs: dict[str, object], status: int
) -> None:
    response = await client.post("/graphql", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert "Traceback" not in response.text


async def test_other_methods_are_405(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json={"query": QUERY})
    assert response.status_code == 405


async def test_browsers_get_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert "GraphiQL" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "cdn" not in response.text.lower()
    script = await client.get("/static/graphiql/graphiql.min.js")
    assert script.status_code == 200


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["dependencies"]["database"]["state"] == "up"


async def test_an_unexpected_failure_is_a_plain_500_with_the_request_id(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/graphql skips FastAPI's layers (graph.app.Gateway), its ServerErrorMiddleware too: the
    endpoint answers an exception as that middleware would, with the request id."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.gateway

        async def broken(text: str) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(state.documents, "prepare", broken)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.post(
                "/graphql", json={"query": QUERY}, headers={"x-request-id": "req-500"}
            )
            after = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert response.headers["x-request-id"] == "req-500"
    assert after.status_code == 500  # the same bug, and the gateway still answers


async def test_a_body_in_chunks_is_read_whole(client: httpx.AsyncClient) -> None:
    body = orjson.dumps({"query": QUERY})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["categories"]["edges"][0]["node"]["slug"] == "electronics"
