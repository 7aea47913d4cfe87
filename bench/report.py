"""Summaries of the measured outcomes, printed as one compact table."""

import math
import statistics
from collections import Counter
from dataclasses import dataclass

from bench.client import Outcome
from bench.load import Measured
from bench.wrk_load import WrkRun

ERROR_EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Summary:
    name: str
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: Counter[str]
    sql: str
    cpu_ms: float | None
    hit_ratio: float | None = None
    # Fields in one response (every key at every level), for CPU per field.
    fields: int | None = None
    # Cores busy on average: the server's (all its processes), and the load generator's (wrk):
    # on a machine that runs both, their sum near its core count means the machine was full.
    server_cores: float | None = None
    load_cores: float | None = None


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def sql_column(counts: list[int]) -> str:
    if not counts:
        return "n/a"
    median = statistics.median(counts)
    shown = f"{median:g}"
    top = max(counts)
    return shown if top == median else f"{shown} (max {top})"


def response_fields(value: object) -> int:
    """Every key of every object in a response's `data`: the fields the server resolved."""
    if isinstance(value, dict):
        return len(value) + sum(response_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(response_fields(v) for v in value)
    return 0


def summarise(
    name: str, measured: Measured, hit_ratio: float | None = None, fields: int | None = None
) -> Summary:
    outcomes = measured.outcomes
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    cpu = measured.server_cpu
    return Summary(
        name=name,
        requests=len(outcomes),
        per_second=len(outcomes) / measured.seconds,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        errors=Counter(o.error for o in outcomes if o.error is not None),
        sql=sql_column([o.sql for o in outcomes if o.sql is not None]),
        cpu_ms=None if cpu is None or not outcomes else cpu * 1000 / len(outcomes),
        hit_ratio=hit_ratio,
        fields=fields,
        server_cores=None if cpu is None else cpu / measured.seconds,
    )


def from_wrk(name: str, ran: WrkRun, checked: list[Outcome], fields: int | None = None) -> Summary:
    """wrk's figures; SQL/op and the text of any error from answers `checked` after the run."""
    errors = Counter(o.error for o in checked if o.error is not None)
    if ran.failed:
        errors["not a 200 without errors"] = ran.failed
    if ran.socket_errors:
        errors["socket error or timeout"] = ran.socket_errors
    return Summary(
        name=name,
        requests=ran.requests,
        per_second=ran.requests / ran.seconds,
        p50_ms=ran.p50_ms,
        p99_ms=ran.p99_ms,
        errors=errors,
        sql=sql_column([o.sql for o in checked if o.sql is not None]),
        cpu_ms=None
        if ran.server_cpu is None or not ran.requests
        else ran.server_cpu * 1000 / ran.requests,
        fields=fields,
        server_cores=None if ran.server_cpu is None else ran.server_cpu / ran.seconds,
        load_cores=None if ran.load_cpu is None else ran.load_cpu / ran.seconds,
    )


HEADINGS = (
    "workload",
    "requests",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "srv CPU ms/req",
    "fields",
    "CPU us/field",
    "SQL/op",
    "cache hit %",
    "srv cores",
    "load cores",
)


SQL_COLUMN = HEADINGS.index("SQL/op")


def _cores(cores: float | None) -> str:
    return "n/a" if cores is None else f"{cores:.2f}"


def table(summaries: list[Summary]) -> list[str]:
    rows = [HEADINGS] + [
        (
            s.name,
            str(s.requests),
            f"{s.per_second:.1f}",
            f"{s.p50_ms:.1f}",
            f"{s.p99_ms:.1f}",
            str(sum(s.errors.values())),
            "n/a" if s.cpu_ms is None else f"{s.cpu_ms:.3f}",
            "n/a" if s.fields is None else str(s.fields),
            "n/a" if s.cpu_ms is None or not s.fields else f"{s.cpu_ms * 1000 / s.fields:.1f}",
            s.sql,
            "n/a" if s.hit_ratio is None else f"{s.hit_ratio * 100:.1f}",
            _cores(s.server_cores),
            _cores(s.load_cores),
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS))]
    # Names and the SQL column read left to right; the numbers line up on the right.
    return [
        "  ".join(
            cell.ljust(w) if i in (0, SQL_COLUMN) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def error_lines(summaries: list[Summary]) -> list[str]:
    return [
        f"{s.name} errors: {count}x {text}"
        for s in summaries
        for text, count in s.errors.most_common(ERROR_EXAMPLES)
    ]
