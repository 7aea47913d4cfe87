"""`--abuse`: a cheap query's latency alone, then while abusers loop hostile documents; and how
quickly each hostile document is refused."""

import asyncio
import time
from collections import defaultdict

from bench import load, report
from bench.client import GraphQLClient
from bench.cpu import CpuProbe
from bench.hostile import TREE, documents
from bench.options import Options
from bench.workloads import prepare

# Each abuser sends its documents back to back, one at a time, as a looping script would.
ABUSERS = 2


async def _abuser(
    client: GraphQLClient,
    names: list[str],
    docs: list[str],
    stop: asyncio.Event,
    timings: dict[str, list[float]],
    codes: dict[str, set[str]],
) -> None:
    copy = 0
    while not stop.is_set():
        for name, document in zip(names, docs, strict=True):
            copy += 1  # a new text each time, as an attacker would send: no cache hit
            outcome = await client.send(f"# {id(timings)}-{copy}\n{document}", None)
            timings[name].append(outcome.seconds * 1000)
            codes[name].add((outcome.error or "no error").split(":")[0])


def _refusals(timings: dict[str, list[float]], codes: dict[str, set[str]]) -> list[str]:
    rows = [("hostile document", "sent", "p50 ms", "p99 ms", "answered")]
    for name, values in timings.items():
        ordered = sorted(values)
        rows.append(
            (
                name,
                str(len(values)),
                f"{report.percentile(ordered, 0.5):.1f}",
                f"{report.percentile(ordered, 0.99):.1f}",
                ",".join(sorted(codes[name])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i in (0, 4) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


async def abuse(url: str, options: Options, cpu: CpuProbe, cheap_document: str) -> list[str]:
    hostile = documents()
    names = ["the 100 x 100 tree (looped)"] + [h.name for h in hostile]
    docs = [TREE] + [h.document for h in hostile]
    async with GraphQLClient(url, options.concurrency + ABUSERS) as client:
        cheap = (await prepare(client, {"W1": cheap_document}, cheap_document))[0]
        measured = {}
        for phase in ("alone", "under abuse"):
            stop = asyncio.Event()
            timings: dict[str, list[float]] = defaultdict(list)
            codes: dict[str, set[str]] = defaultdict(set)
            abusers = [
                asyncio.create_task(_abuser(client, names, docs, stop, timings, codes))
                for _ in range(ABUSERS if phase == "under abuse" else 0)
            ]
            started = time.perf_counter()
            measured[phase] = await load.run_with(client, cheap, options, cpu)
            stop.set()
            await asyncio.gather(*abusers)
            elapsed = time.perf_counter() - started
        lines = report.table([report.summarise(f"W1 {phase}", m) for phase, m in measured.items()])
        lines.append(
            f"{ABUSERS} abusers looping {len(docs)} hostile documents for {elapsed:.0f} s:"
        )
        return lines + _refusals(timings, codes)
