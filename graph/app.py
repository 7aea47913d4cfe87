"""The ASGI application: resources are built in the lifespan from settings, never at import."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.types import Receive, Scope, Send

from db.cache import keys
from db.cache.aside import Cache
from db.cache.backend import RedisBackend
from db.cache.follower import ChangeFollower
from db.cache.setup import invalidator, quick_redis
from db.cache.watch import GenerationWatch
from db.documents import trusted_document
from db.engine import (
    AfterCommit,
    Sessions,
    create_engine,
    kept_by_reads,
    read_sessions,
    session_factory,
)
from db.queries.changes import latest_change_id
from graph.context import Loaders
from graph.execution.budget import Budgets, MemoryBudgets, RedisBudgets
from graph.execution.documents import Documents
from graph.execution.executor import Executor
from graph.execution.persisted import (
    DocumentStore,
    MemoryDocumentStore,
    NoDocuments,
    PersistedDocuments,
    RedisDocumentStore,
    TrustedDocuments,
)
from graph.execution.plan import Compiler
from graph.execution.responses import ResponseCache
from graph.observability.telemetry import build_telemetry
from graph.schema import build_schema
from graph.settings import Settings
from graph.state import GatewayState
from graph.subscriptions.hub import EventHub
from graph.transport.cors import add_cors, vary_on_origin
from graph.transport.exports import download_export
from graph.transport.graphiql import mount_static
from graph.transport.health import healthz, readyz
from graph.transport.http import GraphQLFastPath, graphql_http
from graph.transport.metrics import metrics
from graph.transport.observe import Observe, has_header
from graph.transport.ws import graphql_ws_endpoint
from graph.viewer import Viewer
from workers.app import create_celery
from workers.dispatch import CeleryDispatcher, Dispatcher, LocalDispatcher
from workers.events import EventStream, MemoryEventStream, RedisEventStream
from workers.relay import Relay
from workers.webhook_targets import Resolve, system_resolve

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

READ_BLOCK_SECONDS = 1.0
log = logging.getLogger(__name__)


def tune_garbage_collector() -> None:
    """graphql-core leaves reference cycles behind each request; collect them less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 50)


def build_responses(settings: Settings, cache: Cache | None) -> ResponseCache | None:
    """Whole responses in this process; with processes that share Redis, only when the shared
    cache's generations can check each hit."""
    if not settings.response_cache_enabled or settings.executor != "planned":
        return None
    if not settings.redis_url:
        return ResponseCache(settings.response_cache_entries)
    if cache is None:
        return None
    return ResponseCache(settings.response_cache_entries, shared=cache)


def build_watch(settings: Settings, responses: ResponseCache | None) -> GenerationWatch | None:
    """Generation bumps pushed by Redis to the responses kept here (only when they are shared).
    Its lease is the cache's timeout: a writer whose bump timed out answers no sooner."""
    if responses is None or responses.shared is None or not settings.response_cache_watch:
        return None
    assert settings.redis_url is not None
    watch = GenerationWatch(
        settings.redis_url,
        keys.GENERATIONS,
        lease=settings.cache_timeout_seconds,
        on_change=responses.purge,
        on_reset=responses.clear,
    )
    responses.watch = watch
    return watch


def after_commit(cache: Cache | None, responses: ResponseCache | None) -> AfterCommit | None:
    """What a commit in this process invalidates before its writer answers: the cache, and the
    responses kept here (other processes drop theirs from the event stream)."""
    invalidate = invalidator(cache)
    if responses is None:
        return invalidate

    async def both(records: Sequence[Any]) -> None:
        responses.purge_changes(records)
        if invalidate is not None:
            await invalidate(records)

    return both


async def stop_tasks(tasks: list["asyncio.Task[None]"], seconds: float = 5.0) -> None:
    """Cancels the background tasks and waits for them, but not forever: a task that swallowed
    its cancellation is named in the log rather than holding the shutdown."""
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        log.error("background task %s did not stop within %g s", task.get_name(), seconds)


def build_dispatcher(
    settings: Settings,
    cache: Cache | None,
    resolve: Resolve,
    responses: ResponseCache | None = None,
) -> Dispatcher:
    """Celery when a broker is configured; otherwise jobs run in this process, off its loop,
    invalidating this process's cache and cached responses after their commits (so a client
    that sees a job done reads what it wrote)."""
    if settings.broker_url:
        return CeleryDispatcher(create_celery(settings), settings.broker_timeout_seconds)
    purge = None if responses is None else responses.purge_changes
    return LocalDispatcher(settings, cache, resolve=resolve, purge=purge)


def cache_client(cache: Cache | None) -> Redis | None:
    backend = cache.backend if cache is not None else None
    return backend.client if isinstance(backend, RedisBackend) else None


def newest_change_reader(sessions: Sessions) -> Callable[[], Awaitable[int]]:
    async def newest_change() -> int:
        async with sessions() as session:
            return await latest_change_id(session=session)

    return newest_change


def build_event_stream(
    settings: Settings, sessions: async_sessionmaker[Any]
) -> tuple[EventStream, Redis | None]:
    """Committed changes for subscribers: a Redis Stream shared by every instance, or (embedded)
    a bounded in-process one, which starts at the end of the change log once the database
    answers (it need not at start-up)."""
    if not settings.redis_url:
        return MemoryEventStream(newest_change=newest_change_reader(sessions)), None
    client = Redis.from_url(
        settings.redis_url,
        # The hub's reader blocks in XREAD for up to READ_BLOCK_SECONDS; a reply later than a
        # moment after that is a Redis in trouble, and the cache is distrusted sooner for it.
        socket_timeout=READ_BLOCK_SECONDS + min(settings.broker_timeout_seconds, 0.5),
        socket_connect_timeout=settings.broker_timeout_seconds,
    )
    return RedisEventStream(client), client


def build_execution(
    settings: Settings, sessions: Sessions
) -> tuple[Documents, PersistedDocuments, Executor, Redis | None]:
    """Documents, persisted queries and budgets: in Redis when there is one, shared by every
    instance; otherwise in this process."""
    strawberry_schema = build_schema()
    schema = strawberry_schema._schema
    compiler = None
    if settings.executor == "planned":
        converter = strawberry_schema.schema_converter
        compiler = Compiler(schema, converter.scalar_registry, strawberry_schema.config)
    documents = Documents(
        schema,
        cache_size=settings.document_cache_size,
        operation_limits=settings.limits(),
        introspection=settings.introspection_enabled,
    )
    client = None
    if settings.redis_url:
        client = quick_redis(settings.redis_url, settings.cache_timeout_seconds)
        budgets: Budgets = RedisBudgets(client, cooldown=settings.cache_breaker_seconds)
        store: DocumentStore = RedisDocumentStore(
            client,
            ttl_seconds=settings.persisted_query_ttl_seconds,
            cooldown=settings.cache_breaker_seconds,
        )
    else:
        budgets, store = MemoryBudgets(), MemoryDocumentStore()

    async def lookup(key: str) -> str | None:
        async with sessions() as session:
            return await trusted_document(session=session, key=key)

    persisted = PersistedDocuments(
        store if settings.persisted_queries else NoDocuments(),
        TrustedDocuments(lookup),
        trusted_only=settings.trusted_documents_only,
    )
    executor = Executor(schema, budgets, settings.policy(), compiler)
    return documents, persisted, executor, client


def build_hub(settings: Settings, events: EventStream, sessions: Sessions) -> EventHub:
    """Events resolve their objects through loaders without the cache (see subscriptions)."""

    def make_loaders(viewer: Viewer) -> Loaders:
        return Loaders(sessions, viewer, None)

    newest = newest_change_reader(sessions)
    return EventHub(events, make_loaders, settings.subscription_queue_size, newest)


class Gateway(FastAPI):
    """FastAPI, but GraphQL over HTTP is answered before its layers (routing, exception
    handlers, body limit: a quarter of a cached response's CPU), by the observing middleware
    around the endpoint alone. Requests whose handling needs those layers take them: traced
    ones, and with CORS configured, those from a browser page (an Origin header); the others
    still vary by Origin then, as CORS would have said."""

    def __init__(self, *, cors: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cors = cors
        self.graphql = Observe(graphql_http)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and self.untraced()
            and not (self.cors and has_header(scope, b"origin"))
        ):
            scope["app"] = self
            await self.graphql(scope, receive, vary_on_origin(send) if self.cors else send)
            return
        await super().__call__(scope, receive, send)

    def untraced(self) -> bool:
        gateway: GatewayState | None = getattr(self.state, "gateway", None)
        return gateway is not None and gateway.telemetry.tracing is None


def create_app(
    settings: Settings | None = None,
    resolve: Resolve = system_resolve,
    span_exporter: "SpanExporter | None" = None,
) -> Gateway:
    """`resolve`: how webhook URLs' host names are looked up, here and in-process deliveries.
    `span_exporter`: where traces go instead of OTEL_EXPORTER_OTLP_ENDPOINT (tests)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        cache = settings.build_cache()
        responses = build_responses(settings, cache)
        sessions = session_factory(engine, after_commit(cache, responses))
        reads = read_sessions(engine, idle=kept_by_reads(settings), direct=True)
        dispatcher = build_dispatcher(settings, cache, resolve, responses)
        events, events_client = build_event_stream(settings, sessions)
        relay = Relay(sessions, dispatcher, settings, events)
        if isinstance(dispatcher, LocalDispatcher):
            loop = asyncio.get_running_loop()

            def wake_relay() -> None:
                loop.call_soon_threadsafe(relay.wake)

            dispatcher.on_commit = wake_relay
        hub = build_hub(settings, events, reads)
        if responses is not None:
            hub.on_rows.append(responses.purge_changes)
        documents, persisted, executor, execution_client = build_execution(settings, reads)
        redis_clients = [events_client, execution_client, cache_client(cache)]
        telemetry = build_telemetry(
            settings,
            engine=engine,
            reads=reads,
            cache=cache,
            hub=hub,
            events=events,
            redis_clients=[client for client in redis_clients if client is not None],
            span_exporter=span_exporter,
        )
        if telemetry.tracing is not None:
            # Statement spans hang on SQLAlchemy's cursor events, which direct reads skip.
            reads.direct = None
        app.state.gateway = GatewayState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            reads=reads,
            documents=documents,
            persisted=persisted,
            executor=executor,
            relay=relay,
            telemetry=telemetry,
            cache=cache,
            events=hub,
            responses=responses,
            resolve=resolve,
        )
        tasks = [
            asyncio.create_task(relay.run(), name="outbox-relay"),
            asyncio.create_task(hub.run(READ_BLOCK_SECONDS), name="event-hub"),
        ]
        watch = build_watch(settings, responses)
        if watch is not None:
            tasks.append(asyncio.create_task(watch.run(), name="generation-watch"))
        if cache is not None and settings.redis_url:
            # Only a shared cache can lose an invalidation; the in-process one cannot.
            follower = ChangeFollower(cache, reads, poll_seconds=settings.cache_follow_seconds)
            hub.on_changes.append(follower.wake)
            hub.on_failure.append(cache.distrust)
            tasks.append(asyncio.create_task(follower.run(), name="cache-follower"))
        tune_garbage_collector()
        try:
            yield
        finally:
            await stop_tasks(tasks)
            dispatcher.close()
            telemetry.close()
            if cache is not None:
                await cache.close()
            documents.close()
            for client in (events_client, execution_client):
                if client is not None:
                    await client.aclose()
            await reads.close()
            await engine.dispose()

    app = Gateway(
        cors=bool(settings.cors_origins),
        title="Product gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # graph.observability traces and measures requests; FastAPI's own would add a second
        # span per request and look up the global providers on every one (~4% of a cache hit).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # HTTP on /graphql is answered by GraphQLFastPath, before FastAPI's router.
    app.router.add_websocket_route("/graphql", graphql_ws_endpoint)
    app.add_route("/healthz", healthz, methods=["GET"])
    app.add_route("/readyz", readyz, methods=["GET"])
    app.add_route("/metrics", metrics, methods=["GET"])
    app.add_route("/exports/{name}", download_export, methods=["GET"])
    mount_static(app)
    app.add_middleware(GraphQLFastPath)
    add_cors(app, settings.cors_origins)
    # Last, so outermost: CORS preflights get a request id and a log line too.
    app.add_middleware(Observe)
    return app
