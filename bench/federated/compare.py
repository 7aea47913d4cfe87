"""`--federated`: W1 sent straight to the gateway, then through Apollo Gateway over a supergraph
composed from the gateway's own `_service { sdl }`: requests per second, and the CPU the
gateway and the router each spend per request."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench import load, report
from bench.client import GraphQLClient
from bench.cpu import CpuProbe, process_cpu
from bench.federated.router import RunningRouter, Subgraph, compose, router
from bench.options import Options
from bench.server import RunningServer, ServerError
from bench.workloads import Workload, prepare

SERVICE = "{ _service { sdl } }"


class Alongside:
    """The server's CpuProbe, which reads another process's CPU at the same moments."""

    def __init__(self, server: CpuProbe, other: CpuProbe) -> None:
        self.server = server
        self.other = other
        self.readings: list[float | None] = []

    def __call__(self) -> float | None:
        self.readings.append(self.other())
        return self.server()

    def spent(self) -> float | None:
        first, last = self.readings[0], self.readings[-1]
        return None if first is None or last is None else last - first


def supergraph(server: RunningServer) -> str:
    sdl = httpx.post(server.url, json={"query": SERVICE}, timeout=30).json()
    composition = compose([Subgraph("products", server.url, sdl["data"]["_service"]["sdl"])])
    if composition.supergraph is None:
        raise ServerError(f"the subgraph does not compose: {composition.errors}")
    return composition.supergraph


async def _measure(url: str, workload: Workload, options: Options, cpu: CpuProbe) -> load.Measured:
    async with GraphQLClient(url, options.concurrency) as client:
        return await load.run_with(client, workload, options, cpu)


async def compare(
    server: RunningServer, running: RunningRouter, options: Options, w1: str
) -> list[str]:
    async with GraphQLClient(server.url, options.concurrency) as client:
        direct = (await prepare(client, {"W1": w1}, w1))[0]
        sample = None if direct.choices is None else direct.choices[0]
        fields = report.response_fields(await client.data(w1, sample))
    server_cpu = process_cpu(server.pid)
    routed = Alongside(server_cpu, process_cpu(running.pid))
    summaries = [
        report.summarise(
            "W1 direct", await _measure(server.url, direct, options, server_cpu), None, fields
        ),
        report.summarise(
            "W1 via router",
            await _measure(running.url, direct, options, routed),
            None,
            fields,
        ),
    ]
    requests = summaries[1].requests
    spent = routed.spent()
    per_request = "n/a" if spent is None or not requests else f"{spent * 1000 / requests:.2f}"
    return [
        *report.table(summaries),
        f"router (Apollo Gateway on Node.js) CPU ms per request through it: {per_request}",
        *report.error_lines(summaries),
    ]


@contextmanager
def routing(server: RunningServer) -> Iterator[RunningRouter]:
    """Apollo Gateway over a supergraph of the server alone."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-router-") as directory,
        router(supergraph(server), Path(directory)) as running,
    ):
        yield running
