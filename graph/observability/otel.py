"""OpenTelemetry tracing (the `otel` extra): a server span per request, named for its operation,
with the W3C `traceparent` it came with as parent; a span per loader batch; a span per SQL
statement (graph.observability.statements) and per Redis command (the Redis instrumentation).

Only spans under a request are kept: background work (the relay's polling, the event reader's
reads) would otherwise start a trace a second.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.context import Context
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from redis.asyncio import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope

from graph.observability.exchange import Exchange
from graph.observability.statements import StatementSpans
from graph.observability.tracing import (
    Batch,
    RequestSpan,
    trace_batches,
    untrace_batches,
)
from graph.settings import Settings

PROPAGATED = (b"traceparent", b"tracestate")


class RequestsOnly(Sampler):
    """Starts traces at server spans only; anything else is traced only under one."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        server = kind is SpanKind.SERVER
        return SamplingResult(Decision.RECORD_AND_SAMPLE if server else Decision.DROP)

    def get_description(self) -> str:
        return "RequestsOnly"


class OtelRequestSpan:
    def __init__(self, span: Span) -> None:
        self.span = span

    def finish(self, exchange: Exchange, status: int) -> None:
        span = self.span
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("gateway.sql.statements", exchange.sql.count)
        if exchange.operation_type is not None:
            name = exchange.operation or ""
            span.update_name(f"{exchange.operation_type} {name}".strip())
            span.set_attribute("graphql.operation.type", exchange.operation_type)
            if exchange.operation is not None:
                span.set_attribute("graphql.operation.name", exchange.operation)
        if exchange.outcome is not None:
            span.set_attribute("gateway.outcome", exchange.outcome)
        if exchange.cost_requested is not None:
            span.set_attribute("gateway.cost.requested", exchange.cost_requested)
        if exchange.cost_actual is not None:
            span.set_attribute("gateway.cost.actual", exchange.cost_actual)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


class OtelTracing:
    def __init__(self, provider: TracerProvider, engine: Engine) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("product-gateway")
        self.propagator = TraceContextTextMapPropagator()
        self.statements = StatementSpans(self.tracer, engine)

    @classmethod
    def start(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        clients: Sequence[Redis],
        exporter: SpanExporter | None,
    ) -> "OtelTracing":
        provider = TracerProvider(
            resource=Resource.create({"service.name": settings.otel_service_name}),
            sampler=ParentBased(root=RequestsOnly()),
        )
        provider.add_span_processor(_processor(settings, exporter))
        tracing = cls(provider, engine.sync_engine)
        for client in clients:
            RedisInstrumentor.instrument_client(client, tracer_provider=provider)
        return tracing

    @contextmanager
    def request(self, scope: Scope) -> Iterator[RequestSpan]:
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in PROPAGATED
        }
        parent = self.propagator.extract(carrier) if carrier else None
        name = f"{scope['method']} {scope['path']}"
        attributes: Attributes = {"http.request.method": scope["method"], "url.path": scope["path"]}
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            token = trace_batches(self)
            try:
                yield OtelRequestSpan(span)
            finally:
                untrace_batches(token)

    def traced(self, loader: str, batch: Batch) -> Batch:
        tracer = self.tracer

        async def traced_batch(keys: list[Any]) -> list[Any]:
            attributes: Attributes = {"gateway.loader": loader, "gateway.loader.keys": len(keys)}
            with tracer.start_as_current_span(f"{loader} batch", attributes=attributes):
                return await batch(keys)

        return traced_batch

    def close(self) -> None:
        self.statements.close()
        self.provider.shutdown()


def _processor(settings: Settings, exporter: SpanExporter | None) -> SpanProcessor:
    if exporter is not None:  # handed in (tests): each span reaches it as it ends
        return SimpleSpanProcessor(exporter)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = (settings.otel_exporter_otlp_endpoint or "").rstrip("/")
    # The OTLP spec: the signal's path is appended to the generic endpoint.
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
