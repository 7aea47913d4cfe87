"""OpenTelemetry traces reach an in-process collector (the SDK's in-memory exporter): a span for
the operation under the caller's `traceparent`, one per loader batch, and one per SQL statement
and Redis command under the batch that sent it."""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from graph.app import create_app
from graph.settings import Settings
from graph.state import GatewayState
from tests.celery_support import private_redis
from tests.support import workload

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
FIRST_SLUG = "{ products(first: 1) { edges { node { slug } } } }"


@asynccontextmanager
async def traced(
    settings: Settings, exporter: InMemorySpanExporter | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, span_exporter=exporter)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def product_detail(client: httpx.AsyncClient) -> httpx.Response:
    first = (await client.post("/graphql", json={"query": FIRST_SLUG})).json()
    slug = first["data"]["products"]["edges"][0]["node"]["slug"]
    return await client.post(
        "/graphql",
        json={"query": workload("W1"), "variables": {"slug": slug}},
        headers={"traceparent": TRACEPARENT},
    )


def trace_of(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The operation's span, and every span of its trace."""
    spans = [
        span
        for span in exporter.get_finished_spans()
        if span.context is not None and f"{span.context.trace_id:032x}" == TRACE_ID
    ]
    (root,) = [span for span in spans if span.kind is SpanKind.SERVER]
    return root, spans


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_an_operation_its_loader_batches_and_their_sql_under_the_callers_trace(
    settings: Settings,
) -> None:
    exporter = InMemorySpanExporter()
    async with traced(settings, exporter) as client:
        response = await product_detail(client)
    assert response.status_code == 200
    root, spans = trace_of(exporter)

    assert root.name == "query ProductDetail"
    assert root.parent is not None
    assert root.parent.is_remote
    assert f"{root.parent.span_id:016x}" == CALLER_SPAN
    attributes = root.attributes or {}
    assert attributes["graphql.operation.name"] == "ProductDetail"
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["gateway.sql.statements"] == response.json()["extensions"]["sqlStatements"]
    assert (
        attributes["gateway.cost.requested"] == response.json()["extensions"]["cost"]["requested"]
    )

    batches = [span for span in children(spans, root) if span.name.endswith("Loader batch")]
    # W1 shows the product's category: its lookup by slug brings it in the same statement.
    assert "ProductWithCategoryBySlugLoader batch" in {span.name for span in batches}
    by_slug = next(span for span in batches if span.name == "ProductWithCategoryBySlugLoader batch")
    assert (by_slug.attributes or {})["gateway.loader.keys"] == 1
    (statement,) = children(spans, by_slug)
    assert statement.kind is SpanKind.CLIENT
    assert statement.name == "SELECT"
    assert "FROM products" in str((statement.attributes or {})["db.query.text"])
    # Every statement the operation sent is a span in its trace, under one of its batches.
    sql = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert len(sql) == attributes["gateway.sql.statements"]
    assert {span.parent.span_id for span in sql if span.parent} <= {
        span.context.span_id for span in batches if span.context
    }


async def test_redis_commands_are_spans_under_the_batch_that_sent_them(
    settings: Settings,
) -> None:
    exporter = InMemorySpanExporter()
    with private_redis() as redis_server:
        cached = settings.model_copy(update={"redis_url": redis_server.url, "cache_enabled": True})
        async with traced(cached, exporter) as client:
            assert (await product_detail(client)).status_code == 200
    root, spans = trace_of(exporter)
    by_slug = next(
        span for span in children(spans, root) if span.name.startswith("ProductWithCategoryBySlug")
    )
    commands = {span.name for span in children(spans, by_slug)}
    assert "MGET" in commands
    assert "SELECT" in commands


async def test_untraced_without_an_endpoint(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state: GatewayState = app.state.gateway
        assert state.telemetry.tracing is None


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: keeps each request's path and body."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(ExportTraceServiceResponse().SerializeToString())

    def log_message(self, *_: Any) -> None:
        return None


async def test_otlp_over_http_to_the_configured_endpoint(settings: Settings) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Collector.received.clear()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        configured = settings.model_copy(update={"otel_exporter_otlp_endpoint": endpoint})
        async with traced(configured) as client:
            assert (await product_detail(client)).status_code == 200
        # The lifespan's end flushed the batch.
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    names: set[str] = set()
    for path, body in Collector.received:
        assert path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                names.update(span.name for span in scope.spans)
    assert {"query ProductDetail", "ProductWithCategoryBySlugLoader batch", "SELECT"} <= names
