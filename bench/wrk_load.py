"""Load from Debian's `wrk` (2 threads x 32 connections), as the issue's peers were measured.

The Python client (bench.load) needs a core of its own to keep a gateway busy, and on a 2-core
machine it takes it from the server it measures; its 8 workers also leave the server one
request per wake-up, which no production load does. wrk in C keeps 32 requests in flight for a
few percent of a core, so server CPU per request is read under the load the peers' figures
were taken with. The Python client still prepares the variables, checks a sample of answers
and reads SQL/op; wrk only sends.
"""

import random
import re
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.client import HEADERS
from bench.cpu import CpuProbe

THREADS, CONNECTIONS = 2, 32
# Past this, the measured run is stopped: wrk itself ends at --duration.
GRACE_SECONDS = 30.0
# Lua reads the bodies as long strings between these brackets, which a body cannot contain.
OPEN, CLOSE = "[==[", "]==]"

SCRIPT = """\
-- Written by bench.wrk_load: each thread sends the bodies in turn, from its own place.
local bodies = {%(bodies)s}
local headers = {%(headers)s}
local threads = {}

function setup(thread)
  thread:set("first", #threads)
  table.insert(threads, thread)
end

function init(args)
  at = first %% #bodies
  failed = 0
end

function request()
  at = at %% #bodies + 1
  return wrk.format("POST", nil, headers, bodies[at])
end

-- A GraphQL error is the first key of our answers (graph.transport.http._encoded).
function response(status, headers, body)
  if status ~= 200 or body:sub(1, 10) == '{"errors":' then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do
    failures = failures + thread:get("failed")
  end
  io.write(string.format("bench requests %%d\\n", summary.requests))
  io.write(string.format("bench microseconds %%d\\n", summary.duration))
  io.write(string.format("bench failed %%d\\n", failures))
  io.write(string.format("bench socket_errors %%d\\n", summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("bench p50 %%d\\n", latency:percentile(50)))
  io.write(string.format("bench p99 %%d\\n", latency:percentile(99)))
end
"""


class WrkError(Exception):
    """wrk could not run, or printed no figures."""


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests: int
    seconds: float
    # Answers that were not a 200 without `errors`, and requests that failed on the socket.
    failed: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float | None
    # wrk's own CPU seconds over the measured run: what the load took of the machine's cores.
    load_cpu: float | None = None


def available() -> bool:
    return shutil.which("wrk") is not None


def bodies(document: str, choices: list[dict[str, Any]] | None, seed: int) -> list[bytes]:
    """One request body per variable set, in a seeded order (the Python client picks at
    random; wrk takes them in turn, so the order is shuffled once instead)."""
    if choices is None:
        return [orjson.dumps({"query": document, "variables": None})]
    shuffled = list(choices)
    random.Random(seed).shuffle(shuffled)
    return [orjson.dumps({"query": document, "variables": v}) for v in shuffled]


def script(sent: Sequence[bytes]) -> str:
    for body in sent:
        if CLOSE.encode() in body:
            raise WrkError(f"a request body contains {CLOSE}, which ends a Lua long string")
    listed = ",\n  ".join(f"{OPEN}{body.decode()}{CLOSE}" for body in sent)
    headers = ", ".join(f'["{name}"] = "{value}"' for name, value in HEADERS.items())
    return SCRIPT % {"bodies": f"\n  {listed}\n", "headers": headers}


def parse(output: str) -> dict[str, int]:
    figures = {m[1]: int(m[2]) for m in re.finditer(r"^bench (\w+) (\d+)$", output, re.M)}
    wanted = {"requests", "microseconds", "failed", "socket_errors", "p50", "p99"}
    if not wanted <= figures.keys():
        raise WrkError(f"wrk printed no figures:\n{output[-1000:]}")
    return figures


def _wrk(url: str, path: Path, seconds: float) -> str:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(path),
        url,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WrkError(f"wrk did not run: {error}") from None
    if done.returncode != 0:
        raise WrkError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout)[-1000:]}")
    return done.stdout


def run(
    url: str, sent: Sequence[bytes], *, warmup: float, duration: float, cpu: CpuProbe
) -> WrkRun:
    """A warm-up run, then the measured one, with the server's CPU read around it."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as directory:
        path = Path(directory) / "workload.lua"
        path.write_text(script(sent))
        if warmup > 0:
            parse(_wrk(url, path, warmup))
        before, children = cpu(), _children_cpu()
        figures = parse(_wrk(url, path, duration))
        after, load_cpu = cpu(), _children_cpu() - children
    return WrkRun(
        requests=figures["requests"],
        seconds=max(figures["microseconds"] / 1e6, 1e-9),
        failed=figures["failed"],
        socket_errors=figures["socket_errors"],
        p50_ms=figures["p50"] / 1000,
        p99_ms=figures["p99"] / 1000,
        server_cpu=None if before is None or after is None else after - before,
        load_cpu=load_cpu,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (each wrk run, once waited)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime
