"""`python -m bench --subscribers N --rate M`: N subscribers hold the S1 subscription open over
graphql-transport-ws while the bench commits M product changes a second through the API; it
reports how many deliveries arrived and how long each took from commit to client."""

import asyncio
import itertools
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.client import GraphQLClient
from bench.cpu import CpuProbe
from bench.report import percentile
from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role

ROOTS = "{ categories(rootsOnly: true, first: 100) { edges { node { id productCount } } } }"
PRODUCTS = """query($c: ID!) { products(first: 100, filter: {categoryId: $c, status: [ACTIVE]})
  { edges { node { id } } } }"""
RENAME = """mutation($id: ID!, $name: String!) {
  productUpdate(id: $id, input: {name: $name}) { userErrors { code } } }"""
WRITERS = 8
REGISTER_POLLS = 600
DRAIN_SECONDS = 5.0


@dataclass
class Deliveries:
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


async def _subscriber(
    url: str, document: str, category: str, into: Deliveries, ready: asyncio.Event
) -> None:
    async with connect(_ws_url(url), subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await _start(socket, document, category)
        ready.set()
        async for raw in socket:
            received = time.time()
            message = orjson.loads(raw)
            if message["type"] == "next":
                event = message["payload"]["data"]["productChanged"]
                occurred = datetime.fromisoformat(event["occurredAt"]).timestamp()
                into.latencies_ms.append((received - occurred) * 1000)
            elif message["type"] in ("error", "complete"):
                into.failures.append(str(message.get("payload"))[:200])
                return


async def _start(socket: ClientConnection, document: str, category: str) -> None:
    await socket.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
    while orjson.loads(await socket.recv())["type"] != "connection_ack":
        pass
    payload = {"query": document, "variables": {"categoryId": category}}
    await socket.send(orjson.dumps({"type": "subscribe", "id": "s1", "payload": payload}).decode())


async def _registered(client: GraphQLClient, count: int) -> None:
    """Until the gateway's hub has every subscription (/readyz says); other servers: 1 s."""
    ready = httpx.URL(client.url).copy_with(path="/readyz", query=b"")
    for _ in range(REGISTER_POLLS):
        try:
            body = (await client.http.get(ready)).json()
            registered = int(body["dependencies"]["subscriptions"]["subscribers"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            await asyncio.sleep(1.0)
            return
        if registered >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {registered} of {count} subscriptions registered")


async def _changes(
    client: GraphQLClient, token: str, products: list[str], rate: float, seconds: float
) -> int:
    """Commits `rate` renames a second for `seconds`; returns how many committed."""
    headers = {"authorization": f"Bearer {token}"}
    ticks = itertools.count()
    run = time.time_ns()
    start = time.perf_counter()
    done = 0

    async def writer() -> None:
        nonlocal done
        while True:
            n = next(ticks)
            due = start + n / rate
            if due - start >= seconds:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            name = f"fan-out bench {run} {n}"  # never a name it has: each one is a change
            variables = {"id": products[n % len(products)], "name": name}
            response = await client.http.post(
                client.url, json={"query": RENAME, "variables": variables}, headers=headers
            )
            body = response.json()
            if response.status_code == 200 and not body.get("errors"):
                done += 1

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return done


async def fanout(
    url: str, document: str, subscribers: int, rate: float, seconds: float, cpu: CpuProbe
) -> list[str]:
    async with GraphQLClient(url, WRITERS) as client:
        roots = (await client.data(ROOTS))["categories"]["edges"]
        root = max(roots, key=lambda edge: edge["node"]["productCount"])["node"]["id"]
        edges = (await client.data(PRODUCTS, {"c": root}))["products"]["edges"]
        products = [edge["node"]["id"] for edge in edges]
        token = issue(Settings(), Role.EDITOR, "bench", timedelta(hours=1))
        deliveries = Deliveries()
        ready = [asyncio.Event() for _ in range(subscribers)]
        tasks = [
            asyncio.create_task(_subscriber(url, document, root, deliveries, event))
            for event in ready
        ]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 60)
        await _registered(client, subscribers)
        print(f"S1 fan-out: {subscribers} subscribers, {rate:g} changes/s ...", file=sys.stderr)
        cpu_before, started = cpu(), time.perf_counter()
        committed = await _changes(client, token, products, rate, seconds)
        expected = committed * subscribers
        deadline = time.perf_counter() + DRAIN_SECONDS
        # Polled: the deadline, not only the count, ends the wait.
        while len(deliveries.latencies_ms) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed, cpu_after = time.perf_counter() - started, cpu()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return _report(subscribers, rate, committed, elapsed, deliveries, cpu_before, cpu_after)


def _report(
    subscribers: int,
    rate: float,
    committed: int,
    elapsed: float,
    deliveries: Deliveries,
    cpu_before: float | None,
    cpu_after: float | None,
) -> list[str]:
    got = sorted(deliveries.latencies_ms)
    expected = committed * subscribers
    cpu = (
        f"{(cpu_after - cpu_before) * 1000 / len(got):.2f}"
        if cpu_before is not None and cpu_after is not None and got
        else "n/a"
    )
    lines = [
        f"fan-out S1: subscribers={subscribers} target={rate:g} changes/s",
        "changes  deliveries  delivered  deliveries/s  p50 ms  p99 ms  max ms"
        "  server CPU ms/delivery (writes included)",
        f"{committed:>7}  {len(got):>10}  {len(got) / expected if expected else 0:>8.1%}  "
        f"{len(got) / elapsed:>12.0f}  {percentile(got, 0.5):>6.1f}  {percentile(got, 0.99):>6.1f}"
        f"  {got[-1] if got else float('nan'):>6.1f}  {cpu:>41}",
    ]
    if deliveries.failures:
        lines.append(f"subscriptions ended early: {deliveries.failures[:3]}")
    return lines
