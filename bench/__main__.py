"""`python -m bench`: start (or reach) a gateway, run each workload, print one table."""

import asyncio
import dataclasses
import os
import platform
import signal
import sys
from collections.abc import Coroutine, Sequence
from types import FrameType
from typing import Any, TypeVar

import httpx

from bench import load, report, wrk_load
from bench.abuse import abuse
from bench.client import GraphQLClient, QueryFailed
from bench.cpu import CpuProbe, no_cpu, process_cpu, tree_cpu
from bench.fanout import fanout
from bench.federated.compare import compare, routing
from bench.federated.npm import NodeUnavailable
from bench.options import ROOT, Options, parse
from bench.server import ServerError, own_server
from bench.workloads import Workload, documents, prepare
from db.settings import DatabaseSettings

T = TypeVar("T")
EXTERNAL = "external"
# Requests sent after a wrk run to read SQL/op (wrk does not read the answers' extensions).
SQL_SAMPLE = 8


def backend_of(database_url: str) -> str:
    return database_url.split("+", 1)[0].split(":", 1)[0]


def graphql_url(url: str) -> str:
    parsed = httpx.URL(url)
    return str(parsed.copy_with(path="/graphql")) if parsed.path in ("", "/") else url


async def external_backend(client: GraphQLClient) -> str:
    """/readyz names the database of a running gateway; other servers stay plain "external"."""
    try:
        response = await client.http.get(httpx.URL(client.url).copy_with(path="/readyz", query=b""))
        name = response.json()["dependencies"]["database"]["backend"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return EXTERNAL
    return f"{EXTERNAL}/{name}"


async def cache_counts(client: GraphQLClient) -> tuple[int, int] | None:
    """(hits, misses) so far, from /readyz; None when the server has no cache to report."""
    try:
        response = await client.http.get(httpx.URL(client.url).copy_with(path="/readyz", query=b""))
        cache = response.json()["dependencies"]["cache"]
        return int(cache["hits"]), int(cache["misses"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def hit_ratio(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Over the whole workload, warm-up included: the cache's own counters do not know phases."""
    if before is None or after is None:
        return None
    hits, misses = after[0] - before[0], after[1] - before[1]
    return hits / (hits + misses) if hits + misses else None


def header(options: Options, backend: str) -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    shared = (
        " (load generator only)" if backend.startswith(EXTERNAL) else " shared by server and load"
    )
    if options.client == "wrk":
        sender = f"client=wrk -t{wrk_load.THREADS} -c{wrk_load.CONNECTIONS}"
    else:
        sender = f"client=python concurrency={options.concurrency}"
    return (
        f"backend={backend} {sender} duration={options.duration:g}s"
        f" warmup={options.warmup:g}s cache={'cold' if options.cold else 'warm'}"
        f" | Python {platform.python_version()}, {cpus} CPUs{shared}"
    )


async def measure(
    url: str, options: Options, backend: str, cpu: CpuProbe, docs: dict[str, str], w2: str
) -> list[str]:
    async with GraphQLClient(url, options.concurrency) as client:
        if backend == EXTERNAL:
            backend = await external_backend(client)
        print("collecting variables ...", file=sys.stderr)
        workloads = await prepare(client, docs, w2)
        if options.distinct is not None:
            workloads = [w.first_choices(options.distinct) for w in workloads]
        summaries: list[report.Summary] = []
        for workload in workloads:
            print(f"{workload.name} ...", file=sys.stderr)
            sample = None if workload.choices is None else workload.choices[0]
            fields = report.response_fields(await client.data(workload.document, sample))
            before = await cache_counts(client)
            if options.client == "wrk":
                summary = await _with_wrk(client, workload, options, cpu, fields)
            else:
                measured = await load.run_with(client, workload, options, cpu)
                summary = report.summarise(workload.name, measured, None, fields)
            ratio = hit_ratio(before, await cache_counts(client))
            summaries.append(dataclasses.replace(summary, hit_ratio=ratio))
    return [header(options, backend), *report.table(summaries), *report.error_lines(summaries)]


async def _with_wrk(
    client: GraphQLClient, workload: Workload, options: Options, cpu: CpuProbe, fields: int
) -> report.Summary:
    """wrk sends the load (in a thread, so this loop stays free); a sample sent afterwards
    through the Python client reads SQL/op as the run left the caches."""
    sent = wrk_load.bodies(workload.document, workload.choices, options.seed)
    ran = await asyncio.to_thread(
        wrk_load.run,
        client.url,
        sent,
        warmup=options.warmup,
        duration=options.duration,
        cpu=cpu,
    )
    sample: list[dict[str, Any] | None] = [None]
    if workload.choices is not None:
        sample = [*workload.choices[:SQL_SAMPLE]]
    checked = [await client.send(workload.document, v) for v in sample]
    return report.from_wrk(workload.name, ran, checked, fields)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # uvloop only spares the load generator some CPU; it is optional
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _terminate(signum: int, _: FrameType | None) -> None:
    # Turn SIGTERM into an exception so the started server is stopped on the way out.
    raise SystemExit(128 + signum)


def bench_fanout(options: Options, subscribers: int) -> list[str]:
    document = (options.workloads_dir / "S1-product-changed.graphql").read_text()

    def run(url: str, cpu: CpuProbe) -> list[str]:
        return run_async(fanout(url, document, subscribers, options.rate, options.duration, cpu))

    if options.url is not None:
        return run(graphql_url(options.url), no_cpu)
    with own_server(options.products, options.server_log, options.cold) as server:
        return run(server.url, process_cpu(server.pid))


def bench_abuse(options: Options) -> list[str]:
    w1 = documents(options.workloads_dir, ("W1",))["W1"]
    if options.url is not None:
        return run_async(abuse(graphql_url(options.url), options, no_cpu, w1))
    with own_server(options.products, options.server_log, options.cold) as server:
        return run_async(abuse(server.url, options, process_cpu(server.pid), w1))


# --compare: every workload on each executor, without caches and with them.
COMPARED = (
    ("graphql-core", True),
    ("planned", True),
    ("graphql-core", False),
    ("planned", False),
)


def bench_compare(options: Options, backend: str, docs: dict[str, str], w2: str) -> list[str]:
    lines: list[str] = []
    for executor, cold in COMPARED:
        label = f"{executor}, {'cold: no row or response cache' if cold else 'warm'}"
        print(f"== {label}", file=sys.stderr)
        with own_server(
            options.products,
            options.server_log,
            cold,
            executor=executor,
            workers=options.workers,
        ) as server:
            cpu = tree_cpu(server.pid)
            each = dataclasses.replace(options, cold=cold)
            table = run_async(measure(server.url, each, backend, cpu, docs, w2))
        lines += ["", f"## {label}", *table]
    return lines


def bench_federated(options: Options) -> list[str]:
    if options.url is not None:
        raise ServerError("--federated starts its own gateway and router; leave out --url")
    w1 = documents(options.workloads_dir, ("W1",))["W1"]
    backend = backend_of(DatabaseSettings(_env_file=ROOT / ".env").database_url)
    with (
        own_server(options.products, options.server_log, options.cold) as server,
        routing(server) as running,
    ):
        lines = run_async(compare(server, running, options, w1))
    return [header(options, backend), *lines]


def bench(options: Options) -> list[str]:
    if options.subscribers is not None:
        return bench_fanout(options, options.subscribers)
    if options.abuse:
        return bench_abuse(options)
    if options.federated:
        return bench_federated(options)
    # Read before any server starts, so a wrong directory fails fast.
    docs = documents(options.workloads_dir, options.workloads)
    w2 = documents(options.workloads_dir, ("W2",))["W2"]
    if options.url is not None:
        url = graphql_url(options.url)
        return run_async(measure(url, options, EXTERNAL, no_cpu, docs, w2))
    backend = backend_of(DatabaseSettings(_env_file=ROOT / ".env").database_url)
    if options.compare:
        return bench_compare(options, backend, docs, w2)
    with own_server(
        options.products, options.server_log, options.cold, workers=options.workers
    ) as server:
        cpu = tree_cpu(server.pid)
        return run_async(measure(server.url, options, backend, cpu, docs, w2))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        lines = bench(options)
    except (
        ServerError,
        FileNotFoundError,
        QueryFailed,
        httpx.TransportError,
        NodeUnavailable,
    ) as error:
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
