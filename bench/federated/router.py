"""Compose subgraphs into a supergraph, and serve it with Apollo Gateway on loopback."""

import json
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.federated.npm import node, node_modules
from bench.server import HOST, free_port, stop

HERE = Path(__file__).resolve().parent
COMPOSE_TIMEOUT_SECONDS = 60
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Subgraph:
    name: str
    url: str
    sdl: str


@dataclass(frozen=True, slots=True)
class Composition:
    supergraph: str | None
    errors: list[str]
    hints: list[str]


def _node_env() -> dict[str, str]:
    # NODE_PATH is how require() finds packages outside the script's own folders.
    return {**os.environ, "NODE_PATH": str(node_modules())}


def compose(subgraphs: Sequence[Subgraph]) -> Composition:
    """Apollo's composition of the subgraphs: the supergraph SDL, or the errors."""
    given = json.dumps([{"name": s.name, "url": s.url, "sdl": s.sdl} for s in subgraphs])
    done = subprocess.run(
        [node(), str(HERE / "compose.cjs")],
        input=given,
        capture_output=True,
        text=True,
        check=True,
        timeout=COMPOSE_TIMEOUT_SECONDS,
        env=_node_env(),
    )
    result = json.loads(done.stdout)
    return Composition(result["supergraphSdl"], result["errors"], result["hints"])


@dataclass(frozen=True, slots=True)
class RunningRouter:
    url: str
    pid: int


def _answers(url: str) -> bool:
    try:
        return httpx.post(url, json={"query": "{ __typename }"}, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def router(supergraph: str, directory: Path) -> Iterator[RunningRouter]:
    """Apollo Gateway over `supergraph` on a free port, its output in directory/router.log."""
    schema = directory / "supergraph.graphql"
    schema.write_text(supergraph)
    port = free_port()
    url = f"http://{HOST}:{port}/"
    env = _node_env()
    with (directory / "router.log").open("wb") as log:
        process = subprocess.Popen(
            [node(), str(HERE / "gateway.cjs"), str(schema), str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                output = (directory / "router.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Apollo Gateway did not start:\n{output}")
            time.sleep(0.1)
        yield RunningRouter(url, process.pid)
    finally:
        stop(process)
