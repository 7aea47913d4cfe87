"""The retired subscriptions-transport-ws protocol, spoken only with WS_LEGACY_PROTOCOL=true, by a
`gateway serve` in its embedded default (SQLite, in-process event stream)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role
from tests.servers import GatewayServer, embedded_gateway
from tests.subscribing import RawClient, hub_stats, post, raw_client, rename

pytestmark = pytest.mark.asyncio(loop_scope="session")
WATCH = "subscription($id: ID) { productChanged(id: $id) { kind changedFields product { name } } }"
LEGACY = ("graphql-ws",)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayServer]:
    directory = tmp_path_factory.mktemp("legacy")
    async with embedded_gateway(directory, {"WS_LEGACY_PROTOCOL": "true"}) as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def modern_only(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayServer]:
    async with embedded_gateway(tmp_path_factory.mktemp("modern")) as started:
        yield started


async def test_a_legacy_client_sees_4406_when_the_protocol_is_off(
    modern_only: GatewayServer,
) -> None:
    async with raw_client(modern_only.ws_url, LEGACY) as client:
        # Browsers and Node's `ws` (which subscriptions-transport-ws runs on) fail a handshake
        # that answers their offer with no subprotocol, as an abrupt 1006; with their own
        # subprotocol echoed they open the socket and read the close code.
        assert client.connection.response is not None
        assert client.connection.response.headers["Sec-WebSocket-Protocol"] == "graphql-ws"
        assert await client.closed_with() == (4406, "Subprotocol not acceptable")
    async with raw_client(modern_only.ws_url, ()) as client:  # no subprotocol offered at all
        assert client.connection.subprotocol is None
        assert (await client.closed_with())[0] == 4406


async def _next(client: RawClient) -> dict[str, Any]:
    while (message := await client.receive())["type"] == "ka":
        pass
    return message


async def test_the_legacy_protocol_streams_changes_when_enabled(server: GatewayServer) -> None:
    body = await post(server.url, "{ products(first: 1) { edges { node { id } } } }")
    product = body["data"]["products"]["edges"][0]["node"]["id"]
    editor = issue(Settings(), Role.EDITOR, "legacy", timedelta(minutes=5))
    async with raw_client(server.ws_url, LEGACY) as client:
        assert client.connection.subprotocol == "graphql-ws"
        await client.send({"type": "connection_init", "payload": {}})
        assert await client.receive() == {"type": "connection_ack"}
        assert await client.receive() == {"type": "ka"}
        start = {"query": WATCH, "variables": {"id": product}}
        await client.send({"type": "start", "id": "a", "payload": start})
        # A second start with the same id restarts the operation (no 4409 in this protocol).
        await client.send({"type": "start", "id": "a", "payload": start})
        await asyncio.sleep(0.2)
        assert (await hub_stats(server.url))["subscribers"] == 1
        await rename(server.url, editor, product, "legacy rename")
        assert await _next(client) == {
            "type": "data",
            "id": "a",
            "payload": {
                "data": {
                    "productChanged": {
                        "kind": "UPDATED",
                        "changedFields": ["name"],
                        "product": {"name": "legacy rename"},
                    }
                }
            },
        }
        await client.send({"type": "stop", "id": "a"})
        await client.send({"type": "connection_terminate"})
        assert (await client.closed_with())[0] == 1000


async def test_a_bad_token_gets_connection_error_then_4403(server: GatewayServer) -> None:
    async with raw_client(server.ws_url, LEGACY) as client:
        await client.send({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
        refused = await client.receive()
        assert refused["type"] == "connection_error"
        assert "Forbidden" in refused["payload"]["message"]
        assert (await client.closed_with())[0] == 4403


async def test_the_modern_protocol_is_preferred_when_both_are_offered(
    server: GatewayServer,
) -> None:
    async with raw_client(server.ws_url, ("graphql-transport-ws", "graphql-ws")) as client:
        assert client.connection.subprotocol == "graphql-transport-ws"
        await client.init()
