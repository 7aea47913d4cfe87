"""Instructions per request, counted by callgrind: the one figure of the gateway's own CPU that
does not move with the machine. On a shared VM the same commit reads 20-40% apart in server CPU
from one run to the next (bench/workloads/README.md); the count of instructions the gateway
process executes per request reads the same to a few tenths of a percent, so a change's effect
is seen in one run each side.

    python -m bench.instructions W1 P1          # needs valgrind, and DATABASE_URL as `make bench`

Each workload runs twice under callgrind, side by side, in-process (the ASGI app driven
directly, one request at a time, the same document and variables each time): a warm-up, then
FEW requests in one run and MANY in the other; the difference over MANY - FEW is one request's
instructions, start-up cancelled out. The relay's poll is put off for the runs (it wakes on a
commit, and reads commit nothing): it costs a few million instructions a second, nothing beside
a request in real time, but a request under callgrind takes ~50 times as long, and its share
then moved with the machine's load. What it does not count: the kernel's work for system calls,
the database's and uvicorn's (the app is called without a server). Counted with the system
allocator (PYTHONMALLOC=malloc), which valgrind needs to see every allocation; absolute figures
are therefore a little higher than with pymalloc, and only comparisons are meant.
"""

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from bench.observe import SCOPE

WORKLOADS = Path(__file__).parent / "workloads"
# Products and categories `gateway seed` always makes (its catalog is deterministic).
VARIABLES: dict[str, dict[str, Any]] = {
    "W1": {"slug": "sleek-aluminium-laptop-1"},
    "P1": {"slug": "sleek-aluminium-laptop-1"},
    "W2": {"slug": "electronics"},
    "P2": {"slug": "everyday-laptops"},
    "W3": {},
}
# No cache of either kind, no budget (as `make bench --cold`), unless the environment says.
COLD = {
    "BUDGET_ENABLED": "false",
    "CACHE_ENABLED": "false",
    "RESPONSE_CACHE_ENABLED": "false",
    "LOG_LEVEL": "warning",
    "RELAY_POLL_SECONDS": "3600",
}
WARM_UP = 20
# A collection of the youngest objects costs millions of instructions and comes every few dozen
# requests: over 400 requests, whether one more falls in the window moves the figure by < 1%.
FEW, MANY = 20, 420


def document(name: str) -> str:
    """A workload's document, or the text of a file named by path (any document can be counted)."""
    if name.endswith(".graphql"):
        return Path(name).read_text()
    return next(WORKLOADS.glob(f"{name}-*.graphql")).read_text()


async def drive(name: str, variables: dict[str, Any], count: int, parallel: int = 1) -> bytes:
    """The app's lifespan, then WARM_UP + `count` rounds of `parallel` requests of the workload
    (sent together); the last answer."""
    from graph.main import serve

    app = serve()
    body = orjson.dumps({"query": document(name), "variables": variables})
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    await events.put({"type": "lifespan.startup"})

    async def lifespan_send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "lifespan.startup.failed":
            raise SystemExit(f"the gateway did not start: {message.get('message')}")
        if message["type"] == "lifespan.startup.complete":
            started.set()

    life = asyncio.create_task(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, events.get, lifespan_send
        )
    )
    await started.wait()
    answer = b""

    async def one() -> bytes:
        parts: list[bytes] = []
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never leaves
            raise AssertionError

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        await app({**SCOPE, "state": {}}, receive, send)
        return b"".join(parts)

    for done in range(WARM_UP + count):
        if done == WARM_UP:
            gc.collect()  # each run's window starts with the same empty young generation
        if parallel == 1:
            answer = await one()
        else:
            answer = (await asyncio.gather(*(one() for _ in range(parallel))))[-1]
    await events.put({"type": "lifespan.shutdown"})
    await life
    return answer


def counted(name: str, variables: dict[str, Any], count: int, parallel: int = 1) -> int:
    """Instructions of a whole run (start-up included)."""
    env = {**COLD, **os.environ, "PYTHONHASHSEED": "0", "PYTHONMALLOC": "malloc"}
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--drive",
        name,
        "--variables",
        json.dumps(variables),
        "--count",
        str(count),
        "--parallel",
        str(parallel),
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    total = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or total is None:
        raise SystemExit(f"{name}: the run under callgrind failed:\n{run.stderr[-2000:]}")
    return int(total.group(1))


def per_request(name: str, variables: dict[str, Any], parallel: int = 1) -> float:
    # About as many requests in the window whatever `parallel` is.
    rounds = max(1, (MANY - FEW) // parallel)
    with ThreadPoolExecutor(2) as pool:
        few, many = pool.map(lambda n: counted(name, variables, n, parallel), (FEW, FEW + rounds))
    return (many - few) / (rounds * parallel)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("workloads", nargs="*", default=["P1", "W1"])
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--variables", help="JSON; default: a seeded product or category")
    parser.add_argument("--count", type=int, default=MANY, help=argparse.SUPPRESS)
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="requests in flight together (as wrk's connections keep them); default 1",
    )
    args = parser.parse_args(argv)
    if args.drive:
        import uvloop

        answer = uvloop.run(
            drive(args.drive, json.loads(args.variables), args.count, args.parallel)
        )
        if b'"errors"' in answer or b'"data":null' in answer:
            raise SystemExit(f"{args.drive} did not answer cleanly: {answer[:300]!r}")
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    chosen = {
        name: json.loads(args.variables) if args.variables else VARIABLES.get(name, {})
        for name in args.workloads
    }
    for name, variables in chosen.items():
        instructions = per_request(name, variables, args.parallel)
        print(f"{name}: {instructions / 1e6:.3f} M instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
