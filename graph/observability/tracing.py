"""Traces, decided once at start-up: with the `otel` extra installed and an OTLP endpoint (or an
exporter handed in), requests are traced; otherwise nothing on a request's path calls a tracer,
not even a no-op one. This module imports no OpenTelemetry package; graph.observability.otel does.
"""

import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

from graph.observability.exchange import Exchange
from graph.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)

Batch = Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]


class RequestSpan(Protocol):
    def finish(self, exchange: Exchange, status: int) -> None: ...


class Tracing(Protocol):
    def request(self, scope: Scope) -> AbstractContextManager[RequestSpan]:
        """The request's span, current (and its loader batches traced) while it is open."""

    def traced(self, loader: str, batch: Batch) -> Batch: ...

    def close(self) -> None: ...


# Set only inside a traced request: the loaders it creates wrap their batch function.
_batches: ContextVar[Tracing | None] = ContextVar("traced_batches", default=None)


def traced_batches() -> Tracing | None:
    return _batches.get()


def trace_batches(tracing: Tracing) -> Token[Tracing | None]:
    return _batches.set(tracing)


def untrace_batches(token: Token[Tracing | None]) -> None:
    _batches.reset(token)


def build_tracing(
    settings: Settings,
    engine: AsyncEngine,
    clients: Sequence[Redis],
    exporter: "SpanExporter | None" = None,
) -> Tracing | None:
    """None unless traces are asked for (an endpoint, or an exporter from a test) and possible."""
    if exporter is None and not settings.otel_exporter_otlp_endpoint:
        return None
    try:
        from graph.observability.otel import OtelTracing
    except ImportError as error:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed (%s); "
            "install the gateway with its `otel` extra. Tracing is off.",
            error,
        )
        return None
    return OtelTracing.start(settings, engine, clients, exporter)
