"""Around every HTTP request: its request id (X-Request-ID, or made here; echoed, and on each of
its log lines), its SQL statement count, its access log line, its metrics and, when traced, its
span. Plain ASGI rather than Starlette's BaseHTTPMiddleware, which costs a task per request."""

import random
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from db import stats
from graph.observability.exchange import Exchange
from graph.observability.logs import AccessLines
from graph.observability.telemetry import Telemetry

EXCHANGE = "gateway.exchange"
REQUEST_ID = b"x-request-id"
USER_AGENT = b"user-agent"
MAX_REQUEST_ID = 128


def choose_request_id(sent: bytes | None) -> str:
    """The client's id if it is printable ASCII and at most 128 characters; else a new one."""
    if sent is not None and 0 < len(sent) <= MAX_REQUEST_ID:
        text = sent.decode("latin-1")
        if text.isascii() and text.isprintable():
            return text
    # Not `secrets`: an id needs to be unique, not unguessable, and os.urandom is a system
    # call per request (random reseeds itself in each forked worker).
    return f"{random.getrandbits(128):032x}"


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None]:
    sent = agent = None
    for key, value in scope["headers"]:
        if key == REQUEST_ID:
            sent = value
        elif key == USER_AGENT:
            agent = value
    return sent, agent


def has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope["headers"])


def exchange_of(scope: Scope) -> Exchange:
    """The request's notes; a throwaway when the request did not come through Observe."""
    found: Exchange | None = scope.get(EXCHANGE)
    return found if found is not None else Exchange(stats.StatementCounter())


# nginx's status for a request whose client closed the connection before the answer.
CLIENT_CLOSED = 499


def log_access(
    access: AccessLines,
    scope: Scope,
    exchange: Exchange,
    *,
    request_id: str,
    status: int,
    seconds: float,
    agent: bytes | None,
) -> None:
    client = scope.get("client")
    fields: dict[str, Any] = {
        "request_id": request_id,
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "operation": exchange.operation,
        "operation_type": exchange.operation_type,
        "outcome": exchange.outcome,
        "sql_statements": exchange.sql.count,
        "cost_requested": exchange.cost_requested,
        "cost_actual": exchange.cost_actual,
        "client": client[0] if client else None,
        "user_agent": agent.decode("latin-1") if agent is not None else None,
    }
    access.write({k: v for k, v in fields.items() if v is not None})


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            # No header to echo it in, but the socket's log lines carry it too.
            bound = bind_contextvars(request_id=choose_request_id(_headers(scope)[0]))
            try:
                await self.app(scope, receive, send)
            finally:
                reset_contextvars(**bound)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        telemetry: Telemetry = scope["app"].state.gateway.telemetry
        sent, agent = _headers(scope)
        rid = choose_request_id(sent)
        echoed = (REQUEST_ID, rid.encode())
        bound = bind_contextvars(request_id=rid)
        counter, counting = stats.start_counting()
        exchange = scope[EXCHANGE] = Exchange(counter)
        status = 500  # unless a response starts: an exception escaped the app
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            await send(message)

        async def answer() -> None:
            nonlocal status
            await self.app(scope, receive, send_with_id)
            if not responded:
                # The app ended without an answer and without an error: the client left
                # before there was anyone to answer. Not a server error.
                status = CLIENT_CLOSED

        try:
            if telemetry.tracing is None:
                await answer()
            else:
                with telemetry.tracing.request(scope) as span:
                    try:
                        await answer()
                    finally:
                        span.finish(exchange, status)
        finally:
            seconds = time.perf_counter() - started
            if exchange.outcome is not None:
                telemetry.operations.observe(exchange, seconds)
            if telemetry.access is not None:
                log_access(
                    telemetry.access,
                    scope,
                    exchange,
                    request_id=rid,
                    status=status,
                    seconds=seconds,
                    agent=agent,
                )
            stats.stop_counting(counting)
            reset_contextvars(**bound)
