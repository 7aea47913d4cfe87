"""Series read from the live objects at scrape time (the cache's counters, the event hub, the
backlog figures), so that requests and events do no extra work for them."""

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from db.cache.aside import Cache
from graph.observability.backlog import Backlog, Figures
from graph.subscriptions.hub import EventHub

CACHE_COUNTERS = (
    ("hits", "Cache reads that found the entry."),
    ("misses", "Cache reads that went to the database for the entry."),
    ("errors", "Redis calls that failed (each opens the breaker)."),
    ("skipped", "Redis calls skipped while the breaker was open."),
    ("bypassed", "Loader batches that read the database because the cache was suspect."),
)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


class LiveCollector(Collector):
    def __init__(self, cache: Cache | None, hub: EventHub, backlog: Backlog) -> None:
        self.cache = cache
        self.hub = hub
        self.backlog = backlog

    def collect(self) -> Iterator[Metric]:
        yield from self._cache()
        yield from self._subscriptions()
        yield from self._backlog()

    def _cache(self) -> Iterator[Metric]:
        if self.cache is None:
            return
        stats = self.cache.backend.stats
        for field, documentation in CACHE_COUNTERS:
            yield _counter(f"gateway_cache_{field}", documentation, getattr(stats, field))
        yield _gauge(
            "gateway_cache_breaker_open",
            "1 while the Redis breaker is open (reads go to the database).",
            stats.breaker_open,
        )
        yield _gauge(
            "gateway_cache_suspect",
            "1 while the cache may hold what a lost invalidation left behind.",
            self.cache.suspect,
        )

    def _subscriptions(self) -> Iterator[Metric]:
        stats = self.hub.stats()
        yield _gauge("gateway_subscriptions_open", "Subscriptions open.", stats["subscribers"])
        yield _gauge(
            "gateway_subscription_events_queued",
            "Events waiting in subscribers' queues.",
            stats["queued"],
        )
        yield _counter(
            "gateway_subscription_events_delivered",
            "Events queued for a subscriber.",
            stats["delivered"],
        )
        yield _counter(
            "gateway_subscription_events_dropped",
            "Events dropped with a subscriber that fell too far behind.",
            stats["dropped"],
        )
        yield _counter(
            "gateway_subscriptions_overflowed",
            "Subscriptions closed with SUBSCRIBER_TOO_SLOW.",
            stats["overflows"],
        )

    def _backlog(self) -> Iterator[Metric]:
        figures = self.backlog.figures
        newest = figures.newest_change
        if newest is not None and figures.stream_last is not None:
            yield _gauge(
                "gateway_relay_lag_changes",
                "Committed changes not yet in the event stream.",
                max(0, newest - figures.stream_last),
            )
        if newest is not None:
            yield _gauge(
                "gateway_event_hub_lag_changes",
                "Committed changes this process's event reader has not read yet.",
                max(0, newest - self.hub.position),
            )
        if figures.outbox_pending is not None:
            yield _gauge(
                "gateway_outbox_pending",
                "Outbox rows not yet handed to the broker.",
                figures.outbox_pending,
            )
        if figures.jobs is not None:
            yield from self._jobs(figures)

    @staticmethod
    def _jobs(figures: Figures) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "gateway_jobs",
            "Jobs by kind and status (from the jobs table).",
            labels=["kind", "status"],
        )
        retries = GaugeMetricFamily(
            "gateway_job_retries",
            "Runs beyond each job's first (retries and redeliveries), by kind.",
            labels=["kind"],
        )
        per_kind: dict[str, int] = {}
        for tally in figures.jobs or ():
            jobs.add_metric([tally.kind, tally.status.value.lower()], tally.jobs)
            per_kind[tally.kind] = per_kind.get(tally.kind, 0) + tally.retries
        for kind, count in per_kind.items():
            retries.add_metric([kind], count)
        yield jobs
        yield retries
