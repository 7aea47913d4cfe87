"""Webhooks end to end: admins subscribe a real local HTTP receiver, editors change the catalog,
and the gateway's in-process job thread delivers signed events with retries. The receivers run
on 127.0.0.1, so this gateway allows private addresses (test_webhook_ssrf covers refusing them)."""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.conftest import BACKENDS, backend_database, seeded, serving, token
from tests.support import Api, ChangeLog
from tests.webhook_receiver import Received, Receiver
from workers import webhook_message
from workers.settings import WorkerSettings
from workers.tasks.webhooks import attempt_limit
from workers.webhook_message import SignatureError

SECRET = "webhook-secret-0123456789"
# Long enough as text, but Standard Webhooks keys are at least 16 bytes: this one holds 8.
SHORT_STANDARD_SECRET = "whsec_" + base64.b64encode(b"8 bytes!").decode()
MAX_ATTEMPTS = 3
# Quick retries so failing receivers settle fast; the timeout is long only so a receiver that
# holds a request open (test_deleting...) is answered before the gateway gives up on it.
FAST = {
    "task_retry_base_seconds": 0.02,
    "task_max_retries": 5,
    "webhook_max_attempts": MAX_ATTEMPTS,
    "webhook_timeout_seconds": 10.0,
    "relay_poll_seconds": 0.1,
    "webhook_allow_private": True,
}
CREATE = """mutation($input: WebhookCreateInput!) { webhookCreate(input: $input) {
  webhook { id url events createdBy deliveries { eventId } }
  userErrors { field code message } } }"""
DELETE = """mutation($id: ID!) { webhookDelete(id: $id) {
  deletedWebhookId userErrors { field code message } } }"""
DELIVERIES = """query($id: ID!) { node(id: $id) { ... on Webhook {
  deliveries { eventId attempt succeeded statusCode error durationMs attemptedAt } } } }"""
WEBHOOKS = "{ webhooks(first: 100) { totalCount edges { node { id url events } } } }"
PRODUCT_CREATE = """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
  product { id } userErrors { code } } }"""
PRODUCT_RENAME = """mutation($id: ID!, $name: String!) {
  productUpdate(id: $id, input: {name: $name}) { userErrors { code } } }"""
_numbers = itertools.count(1)


@pytest.fixture(scope="module", params=BACKENDS)
def hooks_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A catalog of its own: a webhook left on the shared write database would receive every
    other test's changes."""
    yield from backend_database(request.param, "webhooks", tmp_path_factory)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hooks_settings(hooks_database: str) -> Settings:
    return (await seeded(hooks_database, 20)).model_copy(update=FAST)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hooks_client(hooks_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(hooks_settings) as client:  # no broker: deliveries run in-process
        yield client


@pytest.fixture
def admin(hooks_client: httpx.AsyncClient, hooks_settings: Settings) -> Api:
    return Api(hooks_client, token(hooks_settings, Role.ADMIN, "admin@example.com"))


@pytest.fixture
def editor(hooks_client: httpx.AsyncClient, hooks_settings: Settings) -> Api:
    return Api(hooks_client, token(hooks_settings, Role.EDITOR, "editor@example.com"))


@pytest.fixture
def anonymous(hooks_client: httpx.AsyncClient) -> Api:
    return Api(hooks_client)


def hook_input(**overrides: Any) -> dict[str, Any]:
    return {
        "url": "https://hooks.example.com/catalog",
        "events": ["product.updated"],
        "secret": SECRET,
        **overrides,
    }


async def create_hook(admin: Api, url: str, events: list[str], secret: str = SECRET) -> str:
    result = await admin.query(CREATE, {"input": hook_input(url=url, events=events, secret=secret)})
    payload = result.data["webhookCreate"]
    assert payload["userErrors"] == []
    return str(payload["webhook"]["id"])


async def delete_hook(admin: Api, hook_id: str) -> None:
    payload = (await admin.query(DELETE, {"id": hook_id})).data["webhookDelete"]
    assert (payload["deletedWebhookId"], payload["userErrors"]) == (hook_id, [])


@asynccontextmanager
async def subscribed(
    admin: Api, url: str, events: list[str], secret: str = SECRET
) -> AsyncIterator[str]:
    """A webhook for the block; deleted after it, so later tests' changes never reach it."""
    hook_id = await create_hook(admin, url, events, secret)
    try:
        yield hook_id
    finally:
        await delete_hook(admin, hook_id)


async def new_product(editor: Api) -> str:
    slug = f"hooked-{next(_numbers)}"
    variables = {"input": {"slug": slug, "name": slug, "categoryId": ids.encode("Category", 11)}}
    payload = (await editor.query(PRODUCT_CREATE, variables)).data["productCreate"]
    assert payload["userErrors"] == []
    return str(payload["product"]["id"])


async def rename(editor: Api, product_id: str, name: str) -> None:
    result = await editor.query(PRODUCT_RENAME, {"id": product_id, "name": name})
    assert result.data["productUpdate"]["userErrors"] == []


async def renamed_event(editor: Api, admin: Api, product_id: str, name: str) -> dict[str, Any]:
    """Rename the product and return the one change it recorded."""
    log = ChangeLog(admin)
    await log.mark()
    await rename(editor, product_id, name)
    [change] = await log.since_mark()
    return change


async def eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def deliveries(admin: Api, hook_id: str, count: int) -> list[dict[str, Any]]:
    """The webhook's delivery log, newest first, once it holds `count` attempts."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        found: list[dict[str, Any]] = (await admin.query(DELIVERIES, {"id": hook_id})).data["node"][
            "deliveries"
        ]
        if len(found) >= count:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{len(found)} of {count} logged"
        await asyncio.sleep(0.02)


def logged(caplog: pytest.LogCaptureFixture, *parts: str) -> Callable[[], bool]:
    return lambda: any(all(p in r.getMessage() for p in parts) for r in list(caplog.records))


def standard_signature(key: bytes, request: Received) -> str:
    """`webhook-signature` as Standard Webhooks defines it, worked out apart from the gateway."""
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
    digest = hmac.new(key, signed.encode() + request.body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


async def test_an_update_arrives_once_signed_and_a_create_never(admin: Api, editor: Api) -> None:
    async with Receiver() as receiver, subscribed(admin, receiver.url, ["product.updated"]) as hook:
        product = await new_product(editor)  # product.created: not subscribed
        change = await renamed_event(editor, admin, product, "Renamed once")
        [request] = await receiver.received(1)
        event_id = f"change-{change['sequence']}"
        assert request.signed_with(SECRET)
        webhook_message.verify(SECRET, request.headers, request.body)
        assert request.headers["webhook-signature"] == standard_signature(SECRET.encode(), request)
        assert request.headers["webhook-id"] == event_id
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-gateway-event"] == "product.updated"
        assert request.headers["x-gateway-event-id"] == event_id
        assert request.headers["x-gateway-attempt"] == "1"
        body = request.json
        assert (body["id"], body["event"], body["sequence"]) == (
            event_id,
            "product.updated",
            change["sequence"],
        )
        assert body["entity"] == {"type": "Product", "id": product}
        assert body["changedFields"] == ["name"]
        assert body["categoryIds"] == change["categoryIds"]
        assert body["occurredAt"].endswith("Z")

        second = await renamed_event(editor, admin, product, "Renamed twice")
        await receiver.received(2)
        log = await deliveries(admin, hook, 2)
        assert [(d["eventId"], d["attempt"], d["succeeded"]) for d in log] == [
            (f"change-{second['sequence']}", 1, True),
            (event_id, 1, True),
        ]
        assert [r.headers["x-gateway-event"] for r in receiver.requests] == ["product.updated"] * 2


async def test_failed_attempts_are_retried_under_the_same_event_id(admin: Api, editor: Api) -> None:
    async with (
        Receiver(statuses=[500, 500]) as receiver,
        subscribed(admin, receiver.url, ["*"]) as hook,
    ):
        product = await new_product(editor)
        requests = await receiver.received(3)
        assert [r.headers["x-gateway-attempt"] for r in requests] == ["1", "2", "3"]
        assert len({r.headers["x-gateway-event-id"] for r in requests}) == 1
        assert len({r.body for r in requests}) == 1  # the same bytes, so the same signature
        assert all(r.signed_with(SECRET) for r in requests)
        assert {r.headers["webhook-id"] for r in requests} == {requests[0].json["id"]}
        for request in requests:  # each attempt signs its own timestamp
            webhook_message.verify(SECRET, request.headers, request.body)
        assert requests[0].json["event"] == "product.created"
        assert requests[0].json["entity"]["id"] == product
        log = await deliveries(admin, hook, 3)
        assert [(d["attempt"], d["succeeded"], d["statusCode"]) for d in log] == [
            (3, True, 200),
            (2, False, 500),
            (1, False, 500),
        ]
        assert [d["error"] for d in log] == [None, "HTTP 500", "HTTP 500"]


async def test_a_receiver_that_always_fails_is_given_up_on_after_the_limit(
    admin: Api, editor: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="workers")
    product = await new_product(editor)
    async with (
        Receiver(default=503) as receiver,
        subscribed(admin, receiver.url, ["product.updated"]) as hook,
    ):
        change = await renamed_event(editor, admin, product, "Never delivered")
        event_id = f"change-{change['sequence']}"
        # The task logs this on its last attempt and raises nothing, so no retry can follow.
        await eventually(logged(caplog, event_id, "giving up"), "the delivery to give up")
        log = await deliveries(admin, hook, MAX_ATTEMPTS)
        assert [(d["attempt"], d["succeeded"], d["statusCode"]) for d in log] == [
            (attempt, False, 503) for attempt in range(MAX_ATTEMPTS, 0, -1)
        ]
        assert len(receiver.requests) == MAX_ATTEMPTS
        assert not logged(caplog, "gave up")()  # the retry machinery never had to give up


async def test_a_captured_delivery_replayed_after_the_tolerance_is_refused(
    admin: Api, editor: Api
) -> None:
    async with Receiver() as receiver, subscribed(admin, receiver.url, ["product.created"]):
        await new_product(editor)
        [captured] = await receiver.received(1)
    sent, tolerance = int(captured.headers["webhook-timestamp"]), 300
    webhook_message.verify(SECRET, captured.headers, captured.body, now=sent + tolerance)
    with pytest.raises(SignatureError, match="more than 300s away"):
        webhook_message.verify(SECRET, captured.headers, captured.body, now=sent + tolerance + 1)
    with pytest.raises(SignatureError, match="more than 60s away"):
        webhook_message.verify(SECRET, captured.headers, captured.body, 60, now=sent + 61)
    # Nor can the replayer freshen the timestamp: it is signed.
    later = {**captured.headers, "webhook-timestamp": str(sent + 1000)}
    with pytest.raises(SignatureError, match="no signature matches"):
        webhook_message.verify(SECRET, later, captured.body, now=sent + 1000)


async def test_a_whsec_secret_signs_with_the_key_it_encodes(admin: Api, editor: Api) -> None:
    key = bytes(range(24))
    secret = "whsec_" + base64.b64encode(key).decode()
    async with (
        Receiver() as receiver,
        subscribed(admin, receiver.url, ["product.created"], secret) as hook,
    ):
        await new_product(editor)
        [request] = await receiver.received(1)
        await deliveries(admin, hook, 1)
    assert request.headers["webhook-signature"] == standard_signature(key, request)
    webhook_message.verify(secret, request.headers, request.body)
    assert request.signed_with(secret)  # X-Gateway-Signature keys with the secret as written


async def test_a_closed_port_a_hang_up_and_a_non_http_server_log_the_same_error(
    admin: Api, editor: Api
) -> None:
    """Were the log to tell them apart, webhooks would map which ports are open."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()

    async def speak_redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"-ERR unknown command 'POST'\r\n")
        writer.close()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    product = await new_product(editor)
    hung_up = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    redis_like = await asyncio.start_server(speak_redis, "127.0.0.1", 0)
    ports = [closed, *(s.sockets[0].getsockname()[1] for s in (hung_up, redis_like))]
    try:
        async with contextlib.AsyncExitStack() as hooks:
            hook_ids = [
                await hooks.enter_async_context(
                    subscribed(admin, f"http://127.0.0.1:{port}/hooks", ["product.updated"])
                )
                for port in ports
            ]
            await rename(editor, product, "Nobody answers")
            for hook in hook_ids:
                log = await deliveries(admin, hook, MAX_ATTEMPTS)
                assert {(d["statusCode"], d["error"]) for d in log} == {(None, "connection failed")}
    finally:
        for server in (hung_up, redis_like):
            server.close()
            await server.wait_closed()


@pytest.mark.parametrize(
    ("retries", "attempts", "limit"), [(5, 3, 3), (1, 5, 2), (4, 5, 5), (0, 5, 1), (5, 0, 1)]
)
def test_the_attempt_limit_stays_within_the_retry_machinery(
    retries: int, attempts: int, limit: int
) -> None:
    settings = WorkerSettings(task_max_retries=retries, webhook_max_attempts=attempts)
    assert attempt_limit(settings) == limit


async def test_deleting_a_webhook_stops_its_deliveries(
    admin: Api, editor: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="workers.tasks.webhooks")
    product = await new_product(editor)
    async with Receiver(default=500) as doomed, Receiver() as witness:
        doomed.gate = asyncio.Event()
        hook = await create_hook(admin, doomed.url, ["product.updated"])
        await rename(editor, product, "In flight")
        [held] = await doomed.received(1)
        await delete_hook(admin, hook)  # while its first attempt waits for an answer
        doomed.gate.set()
        event_id = held.headers["x-gateway-event-id"]
        await eventually(logged(caplog, "deleted", event_id), "the event to be dropped")
        async with subscribed(admin, witness.url, ["product.updated"]):
            await rename(editor, product, "After the delete")
            [seen] = await witness.received(1)
        assert seen.json["id"] != event_id
        assert len(doomed.requests) == 1
        assert (await admin.query(DELIVERIES, {"id": hook})).data["node"] is None


async def test_admins_create_list_and_read_webhooks_without_the_secret(admin: Api) -> None:
    url = "http://127.0.0.1:9/listed"
    result = await admin.query(CREATE, {"input": hook_input(url=url, events=["*", "*"])})
    webhook = result.data["webhookCreate"]["webhook"]
    assert webhook == {
        "id": webhook["id"],
        "url": url,
        "events": ["*"],
        "createdBy": "admin@example.com",
        "deliveries": [],
    }
    listed = (await admin.query(WEBHOOKS)).data["webhooks"]
    assert {"id": webhook["id"], "url": url, "events": ["*"]} in [
        e["node"] for e in listed["edges"]
    ]
    fields = (await admin.query('{ __type(name: "Webhook") { fields { name } } }')).data
    assert "secret" not in {f["name"] for f in fields["__type"]["fields"]}
    await delete_hook(admin, webhook["id"])
    assert (await admin.query(WEBHOOKS)).data["webhooks"]["totalCount"] == listed["totalCount"] - 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"url": "ftp://example.com/hook"}, "url", "INVALID"),
        ({"url": "/relative/path"}, "url", "INVALID"),
        ({"url": "http://"}, "url", "INVALID"),
        ({"url": "http://exa mple.com/"}, "url", "INVALID"),
        ({"url": "http://[::1/"}, "url", "INVALID"),
        ({"url": "http://example.com:99999/"}, "url", "INVALID"),
        ({"url": "http://example.com/\x00"}, "url", "INVALID"),
        ({"url": ""}, "url", "BLANK"),
        ({"url": "https://example.com/" + "a" * 2048}, "url", "TOO_LONG"),
        ({"events": []}, "events", "INVALID"),
        ({"events": ["product.updated", "product.renamed"]}, "events", "INVALID"),
        ({"events": ["order.created"]}, "events", "INVALID"),
        ({"events": ["PRODUCT.UPDATED"]}, "events", "INVALID"),
        ({"secret": "too-short"}, "secret", "INVALID"),
        ({"secret": "s" * 256}, "secret", "TOO_LONG"),
        ({"secret": " " * 20}, "secret", "BLANK"),
        ({"secret": "nul\x00" * 5}, "secret", "INVALID"),
        ({"secret": "whsec_this-is-no-base64!"}, "secret", "INVALID"),
        ({"secret": SHORT_STANDARD_SECRET}, "secret", "INVALID"),
    ],
)
async def test_create_refuses_bad_input(
    admin: Api, overrides: dict[str, Any], field: str, code: str
) -> None:
    before = (await admin.query(WEBHOOKS)).data["webhooks"]["totalCount"]
    payload = (await admin.query(CREATE, {"input": hook_input(**overrides)})).data["webhookCreate"]
    assert payload["webhook"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", field], code)]
    assert (await admin.query(WEBHOOKS)).data["webhooks"]["totalCount"] == before


async def test_create_reports_every_problem_at_once(admin: Api) -> None:
    given = hook_input(url="gopher://x", events=["nope"], secret="short")
    payload = (await admin.query(CREATE, {"input": given})).data["webhookCreate"]
    assert [e["field"][-1] for e in payload["userErrors"]] == ["url", "events", "secret"]


async def test_delete_refuses_unknown_and_malformed_ids(admin: Api) -> None:
    missing = ids.encode("Webhook", 999_999)
    payload = (await admin.query(DELETE, {"id": missing})).data["webhookDelete"]
    assert payload["deletedWebhookId"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["id"], "NOT_FOUND")]
    for bad in ("not-an-id", ids.encode("Product", 1)):
        assert (await admin.query(DELETE, {"id": bad})).codes == ["BAD_USER_INPUT"]


async def test_webhooks_are_for_admins_only(admin: Api, editor: Api, anonymous: Api) -> None:
    hook = await create_hook(admin, "https://hooks.example.com/roles", ["*"])
    try:
        for caller, code in ((editor, "FORBIDDEN"), (anonymous, "UNAUTHENTICATED")):
            assert (await caller.query(CREATE, {"input": hook_input()})).codes == [code]
            assert (await caller.query(DELETE, {"id": hook})).codes == [code]
            assert (await caller.query(WEBHOOKS)).codes == [code]
            node = await caller.query("query($id: ID!) { node(id: $id) { id } }", {"id": hook})
            assert node.data["node"] is None
        node = await admin.query("query($id: ID!) { node(id: $id) { id } }", {"id": hook})
        assert node.data["node"] == {"id": hook}
        urls = [e["node"]["url"] for e in (await admin.query(WEBHOOKS)).data["webhooks"]["edges"]]
        assert urls.count("https://hooks.example.com/roles") == 1  # refused creates wrote nothing
    finally:
        await delete_hook(admin, hook)
