"""Everything observability needs at run time, built per app in its lifespan: one Prometheus
registry per app (never the library's global one, which every app in a process would share)."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.cache.aside import Cache
from db.engine import Sessions
from graph.observability.backlog import Backlog
from graph.observability.live import LiveCollector
from graph.observability.logs import AccessLines, access_lines
from graph.observability.metrics import OperationMetrics
from graph.observability.tracing import Tracing, build_tracing
from graph.settings import Settings
from graph.subscriptions.hub import EventHub
from workers.events import EventStream

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

ACCESS_LOGGER = "gateway.access"


@dataclass(slots=True)
class Telemetry:
    registry: CollectorRegistry
    operations: OperationMetrics
    backlog: Backlog
    # None: requests are not traced, and nothing on their path asks a tracer.
    tracing: Tracing | None
    # None: no access log (logging is not configured, or LOG_LEVEL is above INFO).
    access: AccessLines | None

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.close()
        if self.access is not None:
            self.access.flush()


def build_telemetry(
    settings: Settings,
    *,
    engine: AsyncEngine,
    reads: Sessions,
    cache: Cache | None,
    hub: EventHub,
    events: EventStream,
    redis_clients: Sequence[Redis],
    span_exporter: "SpanExporter | None" = None,
) -> Telemetry:
    registry = CollectorRegistry()
    for collector in (ProcessCollector, PlatformCollector, GCCollector):
        collector(registry=registry)
    backlog = Backlog(reads, events, settings.metrics_refresh_seconds)
    operations = OperationMetrics(settings.metrics_operation_names)
    registry.register(operations)
    registry.register(LiveCollector(cache, hub, backlog))
    return Telemetry(
        registry=registry,
        operations=operations,
        backlog=backlog,
        tracing=build_tracing(settings, engine, redis_clients, span_exporter),
        access=access_lines(ACCESS_LOGGER, logging.INFO),
    )
