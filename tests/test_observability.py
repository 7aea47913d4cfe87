"""What an operator sees of a real `gateway serve` (embedded: SQLite, in-process cache and event
stream): /metrics scraped and parsed by Prometheus's own parser after the W1-W4 workloads, a
subscription and a job, and the JSON access log the server writes to its stdout."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role
from tests.servers import GatewayServer, embedded_gateway
from tests.subscribing import S1, gql_session, local_http, registered, rename, request
from tests.support import workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
# The backlog figures (relay lag, outbox, jobs) are read afresh on every scrape.
ENV = {"EXPOSE_SQL_COUNT": "true", "METRICS_REFRESH_SECONDS": "0"}
REPORT = (
    """mutation($id: ID!) { productReport(productId: $id) { job { id } userErrors { code } } }"""
)
JOB = "query($id: ID!) { job(id: $id) { status } }"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayServer]:
    async with embedded_gateway(tmp_path_factory.mktemp("observability"), ENV) as started:
        yield started


class Scrape:
    def __init__(self, text: str) -> None:
        self.samples: list[Sample] = []
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            self.samples.extend(family.samples)

    def value(self, name: str, **labels: str) -> float:
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) == 1, (name, labels, found)
        return found[0]


async def scrape(url: str) -> Scrape:
    async with local_http() as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.text)


async def graphql(
    url: str,
    document: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    async with local_http() as client:
        return await client.post(
            f"{url}/graphql",
            json={"query": document, "variables": variables or {}},
            headers=headers or {},
        )


async def run_workloads(url: str) -> dict[str, int]:
    """Each of W1-W4 twice (the second time from the cache); the SQL statements each sent."""
    tree = (await graphql(url, workload("W3"))).json()["data"]["categories"]["edges"]
    category = next(e["node"] for e in tree if e["node"]["products"]["edges"])
    product = category["products"]["edges"][0]["node"]
    page = (await graphql(url, workload("W2"), {"slug": category["slug"]})).json()
    cursor = page["data"]["category"]["products"]["pageInfo"]["endCursor"]
    sent = {
        "ProductDetail": (workload("W1"), {"slug": product["slug"]}),
        "CategoryPage": (workload("W2"), {"slug": category["slug"]}),
        "CatalogTree": (workload("W3"), {}),
        "CategoryNextPage": (workload("W4"), {"slug": category["slug"], "after": cursor}),
    }
    statements = dict.fromkeys(sent, 0)
    for name, (document, variables) in sent.items():
        for _ in range(2):
            body = (await graphql(url, document, variables)).json()
            assert "errors" not in body, body
            statements[name] += body["extensions"]["sqlStatements"]
    return statements


async def finished_job(url: str, token: str, product: str) -> None:
    body = await graphql(url, REPORT, {"id": product}, {"authorization": f"Bearer {token}"})
    job = body.json()["data"]["productReport"]["job"]["id"]
    for _ in range(200):
        status = await graphql(url, JOB, {"id": job}, {"authorization": f"Bearer {token}"})
        if status.json()["data"]["job"]["status"] == "SUCCEEDED":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the report job did not finish")


async def test_metrics_after_the_workloads_a_subscription_and_a_job(
    server: GatewayServer,
) -> None:
    url = server.url
    before = await scrape(url)
    statements = await run_workloads(url)
    await graphql(url, "{ products(first: 1) { edges { node { nme } } } }")
    await graphql(url, "{ products(first: ")
    editor = issue(Settings(), Role.EDITOR, "observer", timedelta(minutes=5))
    body = (await graphql(url, workload("W3"))).json()["data"]["categories"]["edges"]
    category = next(e["node"] for e in body if e["node"]["products"]["edges"])
    product = category["products"]["edges"][0]["node"]["id"]
    await finished_job(url, editor, product)

    async with gql_session(server.ws_url) as session:
        events = session.subscribe(request(S1, categoryId=category["id"]))
        first = asyncio.ensure_future(anext(events))
        await registered([url], 1)
        await rename(url, editor, product, "observed")
        await asyncio.wait_for(first, 30)
        during = await scrape(url)
        await events.aclose()
    after = await scrape(url)

    for name, _count in statements.items():
        assert during.value("gateway_operations_total", operation=name, outcome="ok") >= 2
        histogram = {"operation": name}
        assert during.value("gateway_operation_sql_statements_count", **histogram) >= 2
        assert during.value("gateway_operation_duration_seconds_count", **histogram) >= 2
        assert during.value("gateway_operation_cost_requested_count", **histogram) >= 2
    # Exactly what the responses said, for the operation only these requests ran.
    assert (
        during.value("gateway_operation_sql_statements_sum", operation="CategoryNextPage")
        == (statements["CategoryNextPage"])
    )
    assert during.value("gateway_operation_sql_statements_count", operation="CategoryNextPage") == 2
    assert during.types["gateway_operation_duration_seconds"] == "histogram"
    invalid = {"operation": "anonymous", "outcome": "GRAPHQL_VALIDATION_FAILED"}
    assert during.value("gateway_operations_total", **invalid) == 1
    unparsed = {"operation": "unknown", "outcome": "GRAPHQL_PARSE_FAILED"}
    assert during.value("gateway_operations_total", **unparsed) == 1
    assert during.value("gateway_refusals_total", code="GRAPHQL_PARSE_FAILED") == 1

    assert during.value("gateway_cache_hits_total") > before.value("gateway_cache_hits_total")
    assert during.value("gateway_cache_misses_total") > 0
    assert during.value("gateway_cache_breaker_open") == 0
    assert during.value("gateway_subscriptions_open") == 1
    assert during.value("gateway_subscription_events_delivered_total") >= 1
    assert during.value("gateway_subscription_events_dropped_total") == 0
    assert after.value("gateway_subscriptions_open") == 0

    assert during.value("gateway_jobs", kind="product_report", status="succeeded") == 1
    assert during.value("gateway_job_retries", kind="product_report") == 0
    assert during.value("gateway_outbox_pending") == 0
    assert 0 <= during.value("gateway_relay_lag_changes") < 5
    assert during.value("gateway_event_hub_lag_changes") >= 0
    assert during.value("process_cpu_seconds_total") > 0


def access_lines(server: GatewayServer) -> list[dict[str, Any]]:
    """Every line the server wrote: each one a JSON object, uvicorn's own included."""
    lines = server.log.read_text().splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


async def logged(server: GatewayServer, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in access_lines(server):
            if line.get("request_id") == request_id and line["logger"] == "gateway.access":
                return line
        await asyncio.sleep(0.05)
    raise AssertionError(f"no access line for {request_id}")


async def test_the_access_log_line_of_a_request_carries_its_id(server: GatewayServer) -> None:
    slug = (await graphql(server.url, "{ products(first: 1) { edges { node { slug } } } }")).json()
    variables = {"slug": slug["data"]["products"]["edges"][0]["node"]["slug"]}
    headers = {"x-request-id": "checkout-7f3a", "user-agent": "storefront/2.1"}
    response = await graphql(server.url, workload("W1"), variables, headers)
    assert response.headers["x-request-id"] == "checkout-7f3a"
    extensions = response.json()["extensions"]

    line = await logged(server, "checkout-7f3a")
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert (line["operation"], line["operation_type"], line["outcome"]) == (
        "ProductDetail",
        "query",
        "ok",
    )
    assert line["sql_statements"] == extensions["sqlStatements"]
    assert line["cost_requested"] == extensions["cost"]["requested"]
    assert line["cost_actual"] == extensions["cost"]["actual"]
    assert line["duration_ms"] > 0
    assert line["client"] == "127.0.0.1"
    assert line["user_agent"] == "storefront/2.1"
    started = [line for line in access_lines(server) if line["logger"].startswith("uvicorn")]
    assert any("Application startup complete" in line["event"] for line in started)
    # One line per request, ours: uvicorn's own access line would double the log.
    assert not [line for line in started if line["logger"] == "uvicorn.access"]


async def test_a_client_that_leaves_mid_request_is_logged_as_499_not_a_server_error(
    server: GatewayServer,
) -> None:
    """It sends half its body and closes: nothing to answer, and nothing went wrong here."""
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\nX-Request-Id: left-early-1\r\n\r\n"
        b'{"query": '
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    line = await logged(server, "left-early-1")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 499)
    assert line["level"] == "info"
    errors = [line for line in access_lines(server) if line["level"] in ("error", "critical")]
    assert errors == []
    # The server answers the next client as ever.
    response = await graphql(server.url, "{ __typename }")
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    "sent",
    ["x" * 129, "tab\tseparated", "caf\u00e9", ""],
    ids=["long", "control", "latin", "empty"],
)
async def test_an_unusable_request_id_is_replaced(server: GatewayServer, sent: str) -> None:
    headers = [(b"x-request-id", sent.encode("latin-1"))]
    async with local_http() as client:
        response = await client.get(f"{server.url}/healthz", headers=headers)
    made = response.headers["x-request-id"]
    assert made != sent
    assert len(made) == 32
    assert all(c in "0123456789abcdef" for c in made)
    await logged(server, made)
