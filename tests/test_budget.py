"""Per-client cost budgets: an operation takes its estimate from the client's bucket; a client over
budget gets 429 RATE_LIMITED with Retry-After; gateways sharing Redis share the bucket."""

import asyncio
from typing import Any

import httpx

from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import command_calls, shared_redis
from tests.conftest import serving, token
from tests.support import workload

BUDGET_DB = 10
SMALL = "{ categories(first: 1) { edges { node { name } } } }"


def budgeted(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(
        update={
            "budget_enabled": True,
            "budget_anonymous_capacity": 1_500,
            "budget_anonymous_restore_per_second": 1,
            **update,
        }
    )


async def post(client: httpx.AsyncClient, query: str, bearer: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
    assert "data" not in body
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 1061
    assert cost["throttleStatus"]["currentlyAvailable"] < 1061


async def test_a_client_over_budget_on_one_gateway_is_refused_on_the_other(
    settings: Settings,
) -> None:
    shared = budgeted(settings, redis_url=shared_redis(BUDGET_DB))
    async with serving(shared) as one, serving(shared) as two:
        first = await post(one, workload("W3"))
        assert first.status_code == 200
        cost = first.json()["extensions"]["cost"]
        assert cost["throttleStatus"]["maximumAvailable"] == 1_500
        assert cost["throttleStatus"]["restoreRate"] == 1
        assert_refused(await post(two, workload("W3")))
        assert_refused(await post(one, workload("W3")))
        # What is left still pays for a cheap operation, on either gateway.
        assert (await post(two, SMALL)).status_code == 200
        # A token's subject has a bucket of its own.
        editor = token(shared, Role.EDITOR, "budget-editor")
        assert (await post(two, workload("W3"), editor)).status_code == 200


async def test_without_redis_the_bucket_is_the_process_own(settings: Settings) -> None:
    async with serving(budgeted(settings, redis_url=None)) as client:
        assert (await post(client, workload("W3"))).status_code == 200
        assert_refused(await post(client, workload("W3")))


async def test_unspent_points_are_given_back(settings: Settings) -> None:
    async with serving(budgeted(settings, redis_url=shared_redis(BUDGET_DB))) as client:
        # Asks for up to 100 categories; the catalog's first page holds fewer, so most of the
        # estimate is returned once the actual cost is known.
        query = "{ categories(first: 100, rootsOnly: true) { edges { node { name } } } }"
        body = (await post(client, query)).json()
        cost = body["extensions"]["cost"]
        assert cost["requested"] == 1 + 100 * 2
        assert cost["actual"] == 1 + len(body["data"]["categories"]["edges"]) * 2
        again = (await post(client, query)).json()["extensions"]["cost"]["throttleStatus"]
        spent = 1_500 - again["currentlyAvailable"]
        # Two actual costs and the second request's estimate, not two estimates.
        assert spent <= 2 * cost["actual"] + cost["requested"] + 2


async def test_concurrent_operations_share_one_script_call_and_the_bucket_still_holds(
    settings: Settings,
) -> None:
    """Ten concurrent operations of one client on a bucket with room for six: one script call
    takes for all of them, in turn, and exactly four are refused."""
    url = shared_redis(BUDGET_DB)
    small = budgeted(settings, redis_url=url, budget_anonymous_capacity=18)
    async with serving(small) as client:
        before = command_calls(url, "evalsha")
        responses = await asyncio.gather(*(post(client, SMALL) for _ in range(10)))
        after = command_calls(url, "evalsha")
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 6 + [429] * 4  # SMALL costs 3, its estimate
    assert after - before <= 2  # 10 without batching
