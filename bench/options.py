"""Command-line options of `python -m bench`."""

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import wrk_load

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOADS_DIR = ROOT / "bench" / "workloads"
SUPPORTED = ("W1", "W2", "W3", "W4", "P1", "P2", "P3", "S2", "S3")


@dataclass(frozen=True, slots=True)
class Options:
    url: str | None
    workloads: tuple[str, ...]
    concurrency: int
    duration: float
    warmup: float
    products: int
    workloads_dir: Path
    seed: int
    server_log: Path | None
    cold: bool
    subscribers: int | None = None
    rate: float = 50.0
    abuse: bool = False
    compare: bool = False
    workers: int = 1
    federated: bool = False
    distinct: int | None = None
    # "wrk" (2 threads x 32 connections, when installed) or "python" (bench.load's workers).
    client: str = "python"


def _workloads(value: str) -> tuple[str, ...]:
    names = tuple(name.strip().upper() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in SUPPORTED]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {','.join(SUPPORTED)}; got {value!r}")
    return names


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return number


def _seconds(value: str) -> float:
    number = float(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative; got {value}")
    return number


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Load the gateway with the benchmark workloads, one at a time.",
    )
    p.add_argument("--url", help="GraphQL endpoint of a running server; default: start one")
    p.add_argument(
        "--workloads", type=_workloads, default=SUPPORTED, help="default W1,W2,W3,W4,P1,P2,P3,S2,S3"
    )
    p.add_argument(
        "--client",
        choices=("wrk", "python"),
        help="what sends the load: wrk -t2 -c32 (as the peers in issue 17 were measured; the "
        "default when wrk is installed) or the Python client's workers (--concurrency)",
    )
    p.add_argument(
        "--concurrency", type=_positive_int, default=8, help="Python client workers per workload"
    )
    p.add_argument("--duration", type=_seconds, default=10.0, help="measured seconds per workload")
    p.add_argument("--warmup", type=_seconds, default=2.0, help="unmeasured seconds before each")
    p.add_argument("--products", type=_positive_int, default=20_000, help="catalog size to seed")
    p.add_argument(
        "--workloads-dir",
        type=Path,
        default=DEFAULT_WORKLOADS_DIR,
        help="where the W*.graphql documents are; default bench/workloads",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the variable picker")
    p.add_argument(
        "--distinct",
        type=_positive_int,
        help="send only the first N variable sets of each workload: warm, nearly every "
        "request after the warm-up is then a response-cache hit; default all",
    )
    cache = p.add_mutually_exclusive_group()
    cache.add_argument(
        "--warm", dest="cold", action="store_false", help="the started server caches (default)"
    )
    cache.add_argument(
        "--cold", dest="cold", action="store_true", help="the started server runs without cache"
    )
    # Both actions share `cold`; argparse would take the first one's default (True).
    p.set_defaults(cold=False)
    p.add_argument(
        "--abuse",
        action="store_true",
        help="W1's latency alone, then while two clients loop hostile documents",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="graphql-core and the planned executor, cold and warm, in one run",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="server processes (more than one needs REDIS_URL); CPU is summed over all",
    )
    p.add_argument(
        "--federated",
        action="store_true",
        help="W1 straight to the gateway and through a federation router (Apollo Gateway from "
        "npm, needs Node.js 20+)",
    )
    p.add_argument(
        "--subscribers",
        type=_positive_int,
        help="subscription fan-out mode: this many S1 subscribers instead of the query workloads",
    )
    p.add_argument(
        "--rate", type=_seconds, default=50.0, help="fan-out mode: product changes per second"
    )
    p.add_argument("--server-log", type=Path, help="keep the started server's output here")
    return p


def parse(argv: Sequence[str] | None = None) -> Options:
    args = parser().parse_args(argv)
    if args.duration <= 0:
        parser().error("--duration must be positive")
    if args.rate <= 0:
        parser().error("--rate must be positive")
    return Options(
        url=args.url,
        workloads=args.workloads,
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        products=args.products,
        workloads_dir=args.workloads_dir,
        seed=args.seed,
        server_log=args.server_log,
        cold=args.cold,
        subscribers=args.subscribers,
        rate=args.rate,
        abuse=args.abuse,
        compare=args.compare,
        workers=args.workers,
        federated=args.federated,
        distinct=args.distinct,
        client=args.client or ("wrk" if wrk_load.available() else "python"),
    )
