"""The series each GraphQL operation over HTTP updates: counts by name and outcome, latency, SQL
statements and cost.

Counted in plain numbers and turned into Prometheus families only when scraped: the library's
instruments take a lock per update, and the five updates of a request cost about 10 µs of CPU
this way against 3 µs. Updates happen on the event loop's thread only.
"""

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from graph.observability.exchange import ERRORS, OK, Exchange
from graph.observability.names import OperationNames

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 5, 8, 13, 21, 50, 100)
COST_BUCKETS = (1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000)
ANSWERED = (OK, ERRORS)
HISTOGRAMS = (
    (
        "gateway_operation_duration_seconds",
        "Time from the request's arrival to its response, by operation name.",
        LATENCY_BUCKETS,
    ),
    (
        "gateway_operation_sql_statements",
        "SQL statements each operation sent, by operation name.",
        STATEMENT_BUCKETS,
    ),
    (
        "gateway_operation_cost_requested",
        "Estimated cost of each priced operation, by operation name.",
        COST_BUCKETS,
    ),
    (
        "gateway_operation_cost_actual",
        "Cost each operation turned out to have, by operation name.",
        COST_BUCKETS,
    ),
)


class Distribution:
    """A histogram's counts: per bucket (not cumulative; the last one is +Inf) and their sum."""

    __slots__ = ("bounds", "counts", "labels", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0
        # `le` as Prometheus's own clients write it: 0.5, 1.0, +Inf.
        self.labels = (*(repr(float(bound)) for bound in bounds), "+Inf")

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for label, count in zip(self.labels, self.counts, strict=True):
            running += count
            out.append((label, running))
        return out


class Operation:
    """Everything counted for one operation-name label."""

    __slots__ = ("distributions", "outcomes")

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}
        self.distributions = tuple(Distribution(buckets) for _, _, buckets in HISTOGRAMS)


class OperationMetrics(Collector):
    def __init__(self, names: int) -> None:
        self.names = OperationNames(names)
        self.operations: dict[str, Operation] = {}
        self.refusals: dict[str, int] = {}

    def observe(self, exchange: Exchange, seconds: float) -> None:
        """Counts one operation; `exchange.outcome` is set."""
        outcome = exchange.outcome or ""
        name = self.names.label(exchange.operation, exchange.operation_type)
        operation = self.operations.get(name)
        if operation is None:
            operation = self.operations[name] = Operation()
        operation.outcomes[outcome] = operation.outcomes.get(outcome, 0) + 1
        if outcome not in ANSWERED:
            self.refusals[outcome] = self.refusals.get(outcome, 0) + 1
        duration, statements, requested, actual = operation.distributions
        duration.observe(seconds)
        statements.observe(exchange.sql.count)
        if exchange.cost_requested is not None:
            requested.observe(exchange.cost_requested)
        if exchange.cost_actual is not None:
            actual.observe(exchange.cost_actual)

    def collect(self) -> Iterator[Metric]:
        operations = list(self.operations.items())
        counts = CounterMetricFamily(
            "gateway_operations",
            "GraphQL operations over HTTP, by operation name and outcome "
            "(ok, errors, or the refusal's code).",
            labels=["operation", "outcome"],
        )
        for name, operation in operations:
            for outcome, count in list(operation.outcomes.items()):
                counts.add_metric([name, outcome], count)
        yield counts
        refusals = CounterMetricFamily(
            "gateway_refusals",
            "Operations answered with a refusal instead of a result, by error code.",
            labels=["code"],
        )
        for code, count in list(self.refusals.items()):
            refusals.add_metric([code], count)
        yield refusals
        for index, (metric, documentation, _) in enumerate(HISTOGRAMS):
            family = HistogramMetricFamily(metric, documentation, labels=["operation"])
            for name, operation in operations:
                distribution = operation.distributions[index]
                family.add_metric([name], distribution.buckets(), distribution.total)
            yield family
