"""Gateway settings, read from the environment (and `.env`)."""

import json
import os
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from graph.execution.budget import Allowance
from graph.execution.limits import Limits
from graph.execution.policy import Policy
from workers.settings import WorkerSettings

# Good enough for a laptop; `ENVIRONMENT=production` refuses to start with it, or with any
# secret that still says to change it (the placeholder in .env.example does).
DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"
PLACEHOLDER_MARK = "change-me"
ANY_ORIGIN = "*"


def origin_list(value: Any) -> list[str]:
    """CORS_ORIGINS as a JSON list or comma-separated, each origin the way browsers send it
    (lower case, no trailing slash): a listed origin that can never match is refused here."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except json.JSONDecodeError:
            raise ValueError("CORS_ORIGINS is neither a JSON list nor comma-separated") from None
    if not isinstance(value, list | tuple):
        raise ValueError("CORS_ORIGINS must be a list of origins")
    origins: list[str] = []
    for item in value:
        origin = str(item).strip().rstrip("/").lower()
        if origin and origin not in origins:
            origins.append(_checked_origin(origin))
    return origins


def _checked_origin(origin: str) -> str:
    if origin == ANY_ORIGIN:
        return origin
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ValueError(f"CORS_ORIGINS: {origin!r} is not an origin like https://shop.example")
    if parts.path or parts.query or parts.fragment:
        raise ValueError(f"CORS_ORIGINS: {origin!r} has a path; an origin is scheme://host[:port]")
    return origin


class Settings(WorkerSettings):
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Unset: one process, or in production with REDIS_URL one per core.
    workers: int | None = None
    jwt_secret: str = DEVELOPMENT_SECRET
    # Adds `extensions.sqlStatements` to every response; for `make bench` and debugging only.
    expose_sql_count: bool = False
    # Unset: on, except with ENVIRONMENT=production.
    graphiql: bool | None = None
    introspection: bool | None = None
    max_page_size: int = 100
    default_page_size: int = 20
    max_body_bytes: int = 4_000_000
    document_cache_size: int = 1_000
    # Operation limits, checked before validation; refusals name the limit.
    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    max_fields: int = 1_000
    max_tokens: int = 10_000
    # Demand control: the estimate's ceiling, and each client's bucket of cost points.
    max_operation_cost: int = 10_000
    budget_enabled: bool = True
    budget_anonymous_capacity: int = 20_000
    budget_anonymous_restore_per_second: int = 1_000
    budget_staff_capacity: int = 100_000
    budget_staff_restore_per_second: int = 10_000
    # `planned` runs queries the planner covers on graph.execution.run, the rest on graphql-core.
    executor: Literal["planned", "graphql-core"] = "planned"
    # Whole responses of planned queries kept in each process, dropped by the writes they saw.
    response_cache_enabled: bool = True
    response_cache_entries: int = 10_000
    # With REDIS_URL: Redis pushes generation bumps to each process (client-side caching), so a
    # hit needs no MGET; off, or where Redis refuses it, every hit is checked in Redis.
    response_cache_watch: bool = True
    # Queries past this are cancelled with TIMEOUT; the database cancels their statements too.
    operation_timeout_seconds: float = 10.0
    # The gateway's statements: past its deadline a query is cancelled with its SQL; this stops
    # whatever escapes that (a write, an in-process job's batch) in the database itself.
    database_statement_timeout_seconds: float | None = 30.0
    max_response_bytes: int = 10_000_000
    # Automatic persisted queries (Apollo's protocol) and operator-registered documents.
    persisted_queries: bool = True
    persisted_query_ttl_seconds: int = 86_400
    trusted_documents_only: bool = False
    # `Cache-Control: public, max-age=N` on anonymous GET results (ETags make 0 still useful).
    http_cache_max_age_seconds: int = 0
    # Events a subscriber may fall behind by before it is closed (SUBSCRIBER_TOO_SLOW).
    subscription_queue_size: int = 1_000
    ws_max_subscriptions: int = 100
    # A WebSocket that sends no connection_init within this is closed with 4408.
    ws_init_timeout_seconds: float = 5.0
    # The server pings each WebSocket this often, so proxies keep idle ones open.
    ws_keepalive_seconds: float = 15.0
    # Also speak Apollo's retired subscriptions-transport-ws (subprotocol `graphql-ws`).
    ws_legacy_protocol: bool = False
    # Compressing each small event costs more CPU per subscriber than it saves on a LAN.
    ws_per_message_deflate: bool = False
    # Browser pages on these origins may call the API (CORS) and open WebSockets; "*" is any.
    # Empty: no CORS headers, and WebSockets are not checked for their Origin.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # /metrics tells this many operation names apart; later ones count as "other".
    metrics_operation_names: int = 200
    # How long /metrics reuses what it read from the database and the stream (lag, jobs).
    metrics_refresh_seconds: float = 5.0
    # OpenTelemetry traces, with the `otel` extra installed: the collector's OTLP/HTTP base URL.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "product-gateway"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> list[str]:
        return origin_list(value)

    @property
    def serve_workers(self) -> int:
        if self.workers is not None:
            return self.workers
        if self.environment == "production" and self.redis_url:
            return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        return 1

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.environment != "production"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment != "production"

    def limits(self) -> Limits:
        return Limits(
            max_depth=self.max_depth,
            max_aliases=self.max_aliases,
            max_root_fields=self.max_root_fields,
            max_fields=self.max_fields,
            max_tokens=self.max_tokens,
        )

    def policy(self) -> Policy:
        def allowance(capacity: int, rate: int) -> Allowance | None:
            return Allowance(capacity, rate) if self.budget_enabled else None

        return Policy(
            max_cost=self.max_operation_cost,
            timeout_seconds=self.operation_timeout_seconds,
            anonymous=allowance(
                self.budget_anonymous_capacity, self.budget_anonymous_restore_per_second
            ),
            staff=allowance(self.budget_staff_capacity, self.budget_staff_restore_per_second),
        )

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Self:
        placeholder = PLACEHOLDER_MARK in self.jwt_secret.lower()
        if self.environment == "production" and placeholder:
            raise ValueError(
                "set JWT_SECRET to a random secret (openssl rand -hex 32): production refuses "
                "the development secret and placeholders"
            )
        if len(self.jwt_secret) < 32:
            raise ValueError(
                "JWT_SECRET must be at least 32 characters; make one with openssl rand -hex 32"
            )
        return self
