"""Real `gateway serve` processes for the tests that need a server over a socket."""

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.celery_support import ROOT, free_port, stop_group, wait_for
from tests.conftest import seeded


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class GatewayServer:
    """`gateway serve` on a free port, with its output in `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "graph.cli", "serve", "--port", str(self.port)],
            env={**os.environ, "BUDGET_ENABLED": "false", **env},
            stdout=self.output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        wait_for(lambda: self.process.poll() is None and _healthy(self.url), 30, "gateway serve")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self) -> None:
        stop_group(self.process, 15)
        self.output.close()


@asynccontextmanager
async def embedded_gateway(
    directory: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[GatewayServer]:
    """`gateway serve` in its embedded default: a small seeded SQLite catalog, no Redis."""
    url = f"sqlite+aiosqlite:///{directory / 'gateway.db'}"
    await seeded(url, 30)
    server = GatewayServer(
        {"DATABASE_URL": url, "REDIS_URL": "", **(env or {})}, directory / "serve.log"
    )
    try:
        yield server
    finally:
        server.stop()
