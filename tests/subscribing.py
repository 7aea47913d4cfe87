"""Clients for the subscription tests: the `gql` client, and a raw graphql-transport-ws one for
what a well-behaved client never sends."""

import asyncio
import statistics
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import orjson
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

S1 = """subscription ProductChanged($categoryId: ID!, $after: String) {
  productChanged(categoryId: $categoryId, after: $after) {
    cursor kind productId changedFields occurredAt
    product { id name priceRange { min { amount currency } } }
  }
}"""

RENAME = """mutation Rename($id: ID!, $name: String!) {
  productUpdate(id: $id, input: {name: $name}) { userErrors { code message } }
}"""


def local_http() -> httpx.AsyncClient:
    """For the gateway on this host, over plain HTTP: without TLS verification set up, so
    making one does not block the loop (loading the CA bundle takes 25-50 ms) and delay the
    subscribers that share it."""
    return httpx.AsyncClient(verify=False, timeout=30)


@asynccontextmanager
async def gql_session(ws_url: str, token: str | None = None) -> AsyncIterator[AsyncClientSession]:
    transport = WebsocketsTransport(
        url=ws_url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"authorization": f"Bearer {token}"} if token else {},
    )
    async with Client(transport=transport) as session:
        yield session


def request(query: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(query, variable_values=variables)


async def post(
    url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with local_http() as client:
        response = await client.post(
            f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def rename(url: str, token: str, product_id: str, name: str) -> None:
    body = await post(url, RENAME, {"id": product_id, "name": name}, token)
    assert body["data"]["productUpdate"]["userErrors"] == [], body


async def rename_many(url: str, token: str, renames: list[tuple[str, str]]) -> None:
    """One write transaction per rename, up to 20 per request (the root field limit)."""
    for start in range(0, len(renames), 20):
        chunk = renames[start : start + 20]
        fields = " ".join(
            f'r{n}: productUpdate(id: "{pid}", input: {{name: "{name}"}}) {{ userErrors {{ code }} }}'  # noqa: E501
            for n, (pid, name) in enumerate(chunk)
        )
        body = await post(url, f"mutation {{ {fields} }}", token=token)
        assert all(not r["userErrors"] for r in body["data"].values()), body


async def hub_stats(url: str) -> dict[str, Any]:
    """The server's event hub, as /readyz reports it."""
    async with local_http() as client:
        body = (await client.get(f"{url}/readyz")).json()
    stats: dict[str, Any] = body["dependencies"]["subscriptions"]
    return stats


async def registered(urls: Sequence[str], count: int) -> None:
    """Waits until the servers' hubs hold at least `count` subscribers between them."""
    for _ in range(200):
        if sum([(await hub_stats(url))["subscribers"] for url in urls]) >= count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"fewer than {count} subscribers registered")


def latency_ms(event: dict[str, Any], received: float) -> float:
    """From commit (occurredAt) to the client holding the event; both clocks are this host's."""
    occurred = datetime.fromisoformat(event["occurredAt"].replace("Z", "+00:00"))
    return (received - occurred.timestamp()) * 1000


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms over {len(ordered)} events"


class RawClient:
    """graphql-transport-ws by hand: for messages and orders a real client never sends."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.connection.send(
            message if isinstance(message, str) else orjson.dumps(message).decode()
        )

    async def receive(self, seconds: float = 10) -> dict[str, Any]:
        """The next message other than a keep-alive ping."""
        async with asyncio.timeout(seconds):
            while True:
                message: dict[str, Any] = orjson.loads(await self.connection.recv())
                if message.get("type") != "ping":
                    return message

    async def init(self, payload: dict[str, Any] | None = None) -> None:
        await self.send({"type": "connection_init", "payload": payload or {}})
        assert (await self.receive())["type"] == "connection_ack"

    async def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.send({"type": "subscribe", "id": op_id, "payload": payload})

    async def closed_with(self, seconds: float = 10) -> tuple[int | None, str]:
        """Reads until the server closes; its close code and reason."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            frame = closed.rcvd
            return (frame.code, frame.reason) if frame else (None, "")


@asynccontextmanager
async def raw_client(
    ws_url: str,
    subprotocols: tuple[str, ...] = ("graphql-transport-ws",),
    origin: str | None = None,
) -> AsyncIterator[RawClient]:
    """`origin` is the page a browser would name; other clients send none."""
    async with connect(
        ws_url,
        subprotocols=list(subprotocols) or None,  # type: ignore[arg-type]
        origin=None if origin is None else Origin(origin),
    ) as connection:
        yield RawClient(connection)


async def init_outcome(
    ws_url: str, payload: dict[str, Any] | None = None, origin: str | None = None
) -> int | str:
    """Sends connection_init: "ack" if the server acknowledges it, else the code the server
    closed with (1006 when it sent no close frame, as when the server crashed)."""
    async with raw_client(ws_url, origin=origin) as client:
        try:
            await client.send({"type": "connection_init", "payload": payload or {}})
            message = await client.receive()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
        assert message == {"type": "connection_ack"}, message
        return "ack"
