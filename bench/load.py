"""Closed-loop load: N workers send one workload back to back; only the measured window counts."""

import asyncio
import random
import time

from bench.client import GraphQLClient, Outcome
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


async def run(
    client: GraphQLClient,
    workload: Workload,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
    seed: int,
) -> tuple[list[Outcome], float]:
    """The measured outcomes and the seconds they span (to the last answer, not the deadline)."""
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + duration
    workers = [
        _worker(client, workload, random.Random(f"{seed}:{workload.name}:{i}"), measure_from, end)
        for i in range(concurrency)
    ]
    outcomes = [o for kept in await asyncio.gather(*workers) for o in kept]
    last = max((o.started + o.seconds for o in outcomes), default=end)
    return outcomes, max(last - measure_from, 1e-9)
