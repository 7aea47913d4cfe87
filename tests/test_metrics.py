"""/metrics of an in-process app: refusals by code, a bounded set of operation-name labels, and a
registry of its own per app."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from graph.settings import Settings
from tests.conftest import serving

REFUSALS = "gateway_refusals_total"
OPERATIONS = "gateway_operations_total"


async def samples(client: httpx.AsyncClient, name: str) -> dict[tuple[str, ...], float]:
    text = (await client.get("/metrics")).text
    return {
        tuple(sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def send(client: httpx.AsyncClient, document: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": document})


async def test_refusals_are_counted_by_code(settings: Settings) -> None:
    strict = settings.model_copy(
        update={
            "max_operation_cost": 50,
            "budget_enabled": True,
            "budget_anonymous_capacity": 60,
            "budget_anonymous_restore_per_second": 1,
        }
    )
    async with serving(strict) as client:
        await send(client, "query Costly { products(first: 100) { edges { node { id } } } }")
        await send(client, "query Cheap { products(first: 20) { edges { node { id } } } }")
        refused = await send(
            client, "query Cheap { products(first: 20) { edges { node { id } } } }"
        )
        assert refused.status_code == 429
        await client.post("/graphql", content=b"{", headers={"content-type": "application/json"})
        refusals = await samples(client, REFUSALS)
        operations = await samples(client, OPERATIONS)
    assert refusals == {
        ("OPERATION_TOO_COSTLY",): 1,
        ("RATE_LIMITED",): 1,
        ("BAD_USER_INPUT",): 1,
    }
    assert operations == {
        ("Costly", "OPERATION_TOO_COSTLY"): 1,
        ("Cheap", "ok"): 1,
        ("Cheap", "RATE_LIMITED"): 1,
        ("unknown", "BAD_USER_INPUT"): 1,
    }


async def test_operation_names_past_the_limit_count_as_other(settings: Settings) -> None:
    async with serving(settings.model_copy(update={"metrics_operation_names": 2})) as client:
        for name in ("First", "Second", "Third", "Fourth", "First"):
            await send(client, f"query {name} {{ __typename }}")
        await send(client, "{ __typename }")
        operations = await samples(client, OPERATIONS)
    assert operations == {
        ("First", "ok"): 2,
        ("Second", "ok"): 1,
        ("other", "ok"): 2,
        ("anonymous", "ok"): 1,
    }


async def test_each_app_has_a_registry_of_its_own(settings: Settings) -> None:
    async with serving(settings) as one, serving(settings) as other:
        await send(one, "query OnlyHere { __typename }")
        assert (await samples(one, OPERATIONS)) == {("OnlyHere", "ok"): 1}
        assert (await samples(other, OPERATIONS)) == {}


async def test_openmetrics_when_asked(settings: Settings) -> None:
    async with serving(settings) as client:
        response = await client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
