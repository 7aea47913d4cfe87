"""A private gateway for one benchmark run: migrated, seeded, served, and always stopped."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.options import ROOT

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_LINES = 12


class ServerError(Exception):
    """The gateway could not be prepared or started."""


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str
    pid: int


def _gateway(*args: str) -> list[str]:
    return [sys.executable, "-m", "graph.cli", *args]


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-LOG_TAIL_LINES:])


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        _gateway(*args), cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ServerError(f"`gateway {' '.join(args)}` failed:\n{_tail(done.stdout + done.stderr)}")
    return done.stdout.strip()


def free_port() -> int:
    # Another process may take the port before the server binds it; rare enough on a bench host.
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the server exited with {process.returncode}:\n{_log_tail(log)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerError(f"no healthy server after {START_TIMEOUT_SECONDS:.0f} s:\n{_log_tail(log)}")


def _log_tail(log: Path) -> str:
    return _tail(log.read_text(errors="replace")) if log.exists() else "(no log)"


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_SECONDS."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def own_server(
    products: int,
    log: Path | None = None,
    cold: bool = False,
    *,
    executor: str | None = None,
    workers: int = 1,
) -> Iterator[RunningServer]:
    """Yield a fresh server on a free port; the database is the environment's. Cold: no cache
    of rows or responses. `workers` > 1 needs REDIS_URL in the environment."""
    # One load generator is one client: budgets would measure themselves, not the gateway.
    env = dict(os.environ, EXPOSE_SQL_COUNT="1", BUDGET_ENABLED="false")
    if cold:
        env["CACHE_ENABLED"] = env["RESPONSE_CACHE_ENABLED"] = "false"
    if executor is not None:
        env["EXECUTOR"] = executor
    print(_run(env, "migrate"), file=sys.stderr)
    print(_run(env, "seed", "--products", str(products)), file=sys.stderr)
    port = free_port()
    base = f"http://{HOST}:{port}"
    log_path = log or Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
    with log_path.open("wb") as out:
        # A session of its own: Ctrl-C reaches only the bench, which then stops the server itself.
        process = subprocess.Popen(
            _gateway("serve", "--host", HOST, "--port", str(port), "--workers", str(workers)),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(process, base, log_path)
        yield RunningServer(f"{base}/graphql", process.pid)
    finally:
        stop(process)
        _report_log(log_path, keep=log is not None)


def _report_log(log: Path, *, keep: bool) -> None:
    """Keep an anonymous log only when the server complained, and say where it is."""
    lines = log.read_text(errors="replace").splitlines()
    complaints = sum(1 for line in lines if "ERROR" in line or line.startswith("Traceback"))
    if complaints or keep:
        print(f"server log: {complaints} error lines in {log}", file=sys.stderr)
    else:
        log.unlink(missing_ok=True)
