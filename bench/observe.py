"""`python -m bench.observe`: the CPU each HTTP request spends on observability (request id, SQL
counting, metrics, the access log line), in process, where the workload benchmark's noise would
hide a few microseconds: one trivial endpoint, with and without graph.transport.observe.Observe,
called straight through ASGI on one thread, in interleaved rounds."""

import asyncio
import gc
import logging
import os
import statistics
import time
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from graph.observability.logs import access_lines, configure_logging
from graph.observability.metrics import OperationMetrics
from graph.observability.telemetry import ACCESS_LOGGER
from graph.transport.observe import Observe, exchange_of

REQUESTS, ROUNDS, WARMUP = 10_000, 12, 500
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/graphql",
    "raw_path": b"/graphql",
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"gateway"),
        (b"content-type", b"application/json"),
        (b"user-agent", b"bench/1"),
        (b"x-request-id", b"bench-request"),
    ],
    "client": ("127.0.0.1", 50_000),
    "server": ("127.0.0.1", 8000),
}


async def endpoint(request: Request) -> Response:
    """What the GraphQL endpoint notes about a W1 request, and a small response."""
    exchange = exchange_of(request.scope)
    exchange.operation, exchange.operation_type = "ProductDetail", "query"
    exchange.cost_requested = exchange.cost_actual = 114
    exchange.sql.count += 4
    exchange.answered(errors=False)
    return Response(b'{"data":{}}', media_type="application/json")


def app(*, observed: bool, logged: bool) -> Starlette:
    built = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])
    # What Observe reads of graph.observability.telemetry.Telemetry.
    telemetry = SimpleNamespace(
        operations=OperationMetrics(200),
        tracing=None,
        access=access_lines(ACCESS_LOGGER, logging.INFO) if logged else None,
    )
    built.state.gateway = SimpleNamespace(telemetry=telemetry)
    if observed:
        built.add_middleware(Observe)
    return built


async def per_request(application: Starlette, count: int) -> float:
    """Thread CPU microseconds per request."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Message) -> None:
        return None

    started = time.thread_time()
    for _ in range(count):
        await application(dict(SCOPE), receive, send)
    return (time.thread_time() - started) / count * 1e6


async def measure() -> dict[str, list[float]]:
    variants = {
        "plain": app(observed=False, logged=False),
        "observed, no access log": app(observed=True, logged=False),
        "observed": app(observed=True, logged=True),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for application in variants.values():
        await per_request(application, WARMUP)
    for _ in range(ROUNDS):
        for name, application in variants.items():
            samples[name].append(await per_request(application, REQUESTS))
    return samples


def main() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)  # as graph.app tunes the server
    with open(os.devnull, "w") as devnull:
        configure_logging("INFO", "json", devnull)
        samples = asyncio.run(measure())
    base = statistics.median(samples["plain"])
    print(f"CPU per request, median of {ROUNDS} rounds of {REQUESTS:,} (min in brackets)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:24s} {median:6.1f} µs ({min(values):5.1f})  +{median - base:5.1f} µs")


if __name__ == "__main__":
    main()
