"""Hostile operations are refused before they run, quickly, with a code and the limit named."""

import time

import httpx
import pytest

from bench.hostile import Hostile, documents
from graph.execution.documents import Documents
from graph.schema import build_schema
from tests.support import Oracle, workload

# Each refusal is timed in CPU seconds of this process (client and server run in it), at the best
# of a few distinct copies of the document (each new to the cache), so a busy machine does not
# fail the test; `make bench BENCH_ARGS=--abuse` reports the wall-clock figures.
ATTEMPTS = 3
REFUSAL_SECONDS = 0.05


@pytest.mark.parametrize("hostile", documents(), ids=lambda h: h.name)
async def test_hostile_documents_are_refused_quickly(
    client: httpx.AsyncClient, hostile: Hostile
) -> None:
    best = float("inf")
    for attempt in range(ATTEMPTS):
        document = f"# copy {attempt}\n" + hostile.document
        started = time.process_time()
        response = await client.post("/graphql", json={"query": document})
        best = min(best, time.process_time() - started)
        body = response.json()
        assert "data" not in body, hostile.name
        assert [e["extensions"]["code"] for e in body["errors"]][:1] == [hostile.code]
        assert hostile.names_limit in body["errors"][0]["message"], body["errors"][0]["message"]
    assert best < REFUSAL_SECONDS, f"{hostile.name}: refused in {best * 1000:.1f} ms"


async def test_depth_and_aliases_name_their_limits(client: httpx.AsyncClient) -> None:
    deep = "{ products { edges { node { category { " + "parent { " * 14 + "id" + " }" * 18 + " }"
    aliases = (
        "{ " + " ".join(f"a{i}: categories(first: 1) {{ totalCount }}" for i in range(31)) + " }"
    )
    for query, fragment in [
        (deep, "19 levels deep; the limit is 15"),
        (aliases, "31 aliases; the limit is 30"),
    ]:
        body = (await client.post("/graphql", json={"query": query})).json()
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert fragment in body["errors"][0]["message"]


async def test_introspection_still_runs(client: httpx.AsyncClient) -> None:
    from graphql import get_introspection_query

    body = (await client.post("/graphql", json={"query": get_introspection_query()})).json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


ESTIMATES = {"W1": 114, "W2": 292, "W3": 1061, "W4": 243, "P1": 4, "P2": 203, "P3": 861}


async def _end_cursor(client: httpx.AsyncClient, query: str, variables: dict[str, str]) -> str:
    body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    data = body["data"]
    connection = data["category"]["products"] if "category" in data else data["categories"]
    return str(connection["pageInfo"]["endCursor"])


async def _variables(client: httpx.AsyncClient, oracle: Oracle, name: str) -> dict[str, str]:
    if name in ("W1", "P1"):
        return {"slug": next(p["slug"] for p in oracle.catalog.products if oracle.public(p))}
    if name == "W2":
        return {"slug": "electronics"}
    if name == "P2":
        return {"slug": next(c["slug"] for c in oracle.catalog.categories if c["level"] == 2)}
    if name == "W4":
        after = await _end_cursor(client, workload("W2"), {"slug": "electronics"})
        return {"slug": "electronics", "after": after}
    if name == "P3":
        query = "{ categories(first: 50) { pageInfo { endCursor } } }"
        return {"after": await _end_cursor(client, query, {})}
    return {}


@pytest.mark.parametrize("name", sorted(ESTIMATES))
async def test_cost_is_estimated_and_counted_for_the_workloads(
    client: httpx.AsyncClient, oracle: Oracle, name: str
) -> None:
    variables = await _variables(client, oracle, name)
    response = await client.post("/graphql", json={"query": workload(name), "variables": variables})
    body = response.json()
    assert "errors" not in body, body["errors"]
    cost = body["extensions"]["cost"]
    assert cost["requested"] == ESTIMATES[name]
    assert cost["limit"] == 10_000
    assert 0 < cost["actual"] <= cost["requested"]


async def test_actual_cost_counts_what_came_back(client: httpx.AsyncClient) -> None:
    query = "{ products(first: 5) { totalCount edges { node { name variants { sku } } } } }"
    body = (await client.post("/graphql", json={"query": query})).json()
    edges = body["data"]["products"]["edges"]
    variants = sum(len(e["node"]["variants"]) for e in edges)
    # The connection, its COUNT, then per product its edge and node, and each variant.
    assert body["extensions"]["cost"]["actual"] == 1 + 10 + 2 * len(edges) + variants
    assert body["extensions"]["cost"]["requested"] == 1 + 10 + 5 * (2 + 10)


async def test_a_size_a_variable_gives_is_estimated_per_request(client: httpx.AsyncClient) -> None:
    # A plan whose sizes are literals has its estimate worked out once; this one has not.
    query = "query($n: Int) { products(first: $n) { edges { node { name } } } }"
    for n in (5, 50, 5):
        body = (await client.post("/graphql", json={"query": query, "variables": {"n": n}})).json()
        assert body["extensions"]["cost"]["requested"] == 1 + n * 2


def test_comments_do_not_buy_another_validation() -> None:
    documents = Documents(build_schema()._schema)
    query = workload("W1")
    first = documents.prepare_now(query)
    again = documents.prepare_now("# hello\n" + query.replace("\n", "\n\n  ,"))
    assert first.valid
    assert again.valid
    assert documents.validations == 1
    assert again.document is not first.document  # its own AST: its own error locations
