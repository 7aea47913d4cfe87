"""Real moving parts for the job tests: a Redis broker, `gateway worker` processes, a private
Redis that tests may stop or freeze."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]
SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


def shared_redis(db: int) -> str:
    """The shared Redis's database `db`, emptied; skips (fails under CI) if Redis is down."""
    url = f"{SHARED_REDIS}/{db}"
    try:
        redis.Redis.from_url(url, socket_timeout=2).flushdb()
    except redis.RedisError as error:
        unavailable(f"Redis is not reachable at {SHARED_REDIS}: {error}")
    return url


def command_calls(url: str, command: str) -> int:
    """How many times the Redis at `url` has run `command` (all databases, since its start)."""
    stats = redis.Redis.from_url(url).info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop_group(process: "subprocess.Popen[bytes]", grace: float = 10) -> None:
    """SIGTERM to the process group, SIGKILL if it has not ended within `grace` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


class Worker:
    """`gateway worker` in its own process group, so a test can kill its pool children."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int = 1) -> None:
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "graph.cli", "worker", "--concurrency", str(concurrency)],
            env={**os.environ, **env},
            stdout=self.output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        wait_for(lambda: "ready." in log.read_text(), 30, "the worker to start")

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """SIGKILL to the whole group, main process and pool alike, as a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        self.output.close()

    def stop(self) -> None:
        stop_group(self.process)
        self.output.close()


class PrivateRedis:
    """A throwaway redis-server on its own port, for outages the shared one must not suffer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            unavailable("redis-server is not installed, so no private Redis can be started")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        wait_for(lambda: _pings(client), 10, "redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process is not None:
            self.thaw()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()
