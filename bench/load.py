"""Closed-loop load: N workers send one workload back to back; only the measured window counts."""

import asyncio
import random
import time
from dataclasses import dataclass

from bench.client import GraphQLClient, Outcome
from bench.cpu import CpuProbe
from bench.options import Options
from bench.workloads import Workload


async def _worker(
    client: GraphQLClient, workload: Workload, rng: random.Random, measure_from: float, end: float
) -> list[Outcome]:
    kept: list[Outcome] = []
    while time.perf_counter() < end:
        variables = None if workload.choices is None else rng.choice(workload.choices)
        outcome = await client.send(workload.document, variables)
        if outcome.started >= measure_from:
            kept.append(outcome)
    return kept


@dataclass(frozen=True, slots=True)
class Measured:
    outcomes: list[Outcome]
    seconds: float
    server_cpu: float | None


async def run(
    client: GraphQLClient,
    workload: Workload,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    seed: int,
    cpu: CpuProbe,
) -> Measured:
    """The measured outcomes, the seconds they span (to the last answer, not the deadline), and the
    server's CPU seconds over about the same span."""
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + duration
    workers = asyncio.gather(
        *(
            _worker(
                client, workload, random.Random(f"{seed}:{workload.name}:{i}"), measure_from, end
            )
            for i in range(concurrency)
        )
    )
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = cpu()
    outcomes = [o for kept in await workers for o in kept]
    cpu_after = cpu()
    last = max((o.started + o.seconds for o in outcomes), default=end)
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Measured(outcomes, max(last - measure_from, 1e-9), server_cpu)


async def run_with(
    client: GraphQLClient, workload: Workload, options: Options, cpu: CpuProbe
) -> Measured:
    """`run` as the command line asked: its concurrency, warm-up, duration and seed."""
    return await run(
        client,
        workload,
        concurrency=options.concurrency,
        warmup=options.warmup,
        duration=options.duration,
        seed=options.seed,
        cpu=cpu,
    )
