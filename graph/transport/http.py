"""GraphQL over HTTP (graphql/graphql-over-http): GET for queries, POST with JSON for anything.

Plain ASGI rather than a FastAPI route or a Starlette endpoint: the hot path does no dependency
resolution and builds no Request or Response objects (they cost a fifth of a cached response),
and the status codes follow the spec for both response media types.
"""

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import OperationDefinitionNode, OperationType
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from db.cache import tags
from graph.auth import viewer_from_header
from graph.errors import (
    ErrorCode,
    RateLimited,
    ResponseTooLarge,
    Unauthenticated,
    error_dict,
    expected,
)
from graph.execution.documents import is_kind
from graph.execution.executor import Cost, Outcome, Refused, client_key
from graph.execution.responses import CachedResponse
from graph.observability.exchange import Exchange
from graph.state import GatewayState
from graph.transport import media
from graph.transport.caching import http_caching
from graph.transport.graphiql import graphiql_response
from graph.transport.observe import exchange_of
from graph.viewer import Viewer

# How soon a client may send again an operation the database could not serve: a restart or
# failover takes seconds, and the gateway reconnects by itself.
UNAVAILABLE_HEADERS = {"Retry-After": "2"}
MEDIA_TYPES = {kind: f"{kind}; charset=utf-8" for kind in (media.JSON, media.GRAPHQL_RESPONSE)}


class RequestError(Exception):
    """The request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


# The request headers the endpoint reads; the others are not decoded.
READ_HEADERS = frozenset(
    (b"accept", b"authorization", b"content-type", b"content-length", b"if-none-match")
)


@dataclass(slots=True)
class Request:
    """What the endpoint reads of an HTTP request: its method, the headers it uses (names in
    lower case, the first of each), the query string's parameters and the body's stream."""

    scope: Scope
    receive: Receive
    method: str
    headers: dict[bytes, str]

    @classmethod
    def of(cls, scope: Scope, receive: Receive) -> "Request":
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in READ_HEADERS and name not in headers:
                headers[name] = value.decode("latin-1")
        return cls(scope, receive, scope["method"], headers)

    def header(self, name: bytes) -> str | None:
        return self.headers.get(name)

    def query_params(self) -> dict[str, str]:
        """The last value of each (as Starlette's QueryParams.get gives it)."""
        return dict(parse_qsl(self.scope["query_string"].decode("latin-1"), keep_blank_values=True))

    def client_host(self) -> str | None:
        client = self.scope.get("client")
        return client[0] if client else None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    media_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def send(self, send: Send) -> None:
        raw = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers.items()
        ]
        if self.status != 304:
            raw.append((b"content-length", str(len(self.body)).encode()))
        if self.media_type is not None:
            raw.append((b"content-type", self.media_type.encode("latin-1")))
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.body})


def _respond(
    body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None
) -> Reply:
    return Reply(status, orjson.dumps(body), MEDIA_TYPES[media_type], headers or {})


async def _params(request: Request, max_bytes: int) -> dict[str, Any]:
    if request.method == "GET":
        query = request.query_params()
        params: dict[str, Any] = {k: query.get(k) for k in ("query", "operationName", "documentId")}
        for key in ("variables", "extensions"):
            if query.get(key):
                try:
                    params[key] = orjson.loads(query[key])
                except orjson.JSONDecodeError:
                    raise RequestError(400, f"`{key}` is not valid JSON.") from None
        return params
    content_type = (request.header(b"content-type") or "").split(";")[0].strip().lower()
    if content_type != media.JSON:
        raise RequestError(415, "Send the request body as application/json.")
    declared = request.header(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(413, f"The body is larger than {max_bytes} bytes.")
    body = await _body(request, max_bytes)
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "The body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise RequestError(400, "The body must be a JSON object.")
    return params


async def _body(request: Request, max_bytes: int) -> bytes:
    """The body, read no further than the limit: a chunked body declares no length."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(413, f"The body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@dataclass(frozen=True, slots=True)
class Params:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None


def _checked(params: dict[str, Any]) -> Params:
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    extensions, document_id = params.get("extensions"), params.get("documentId")
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise RequestError(400, "`query` must be a non-empty string.")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be a JSON object.")
    if document_id is not None and not isinstance(document_id, str):
        raise RequestError(400, "`documentId` must be a string.")
    if query is None and document_id is None and not (extensions or {}).get("persistedQuery"):
        raise RequestError(400, "`query` must be a non-empty string.")
    return Params(query, variables, name, extensions, document_id)


class GraphQLFastPath:
    """Sends HTTP requests for /graphql straight to its endpoint: FastAPI's routing, exception
    and dependency layers cost ~40% of a small request, and the endpoint needs none of them
    (it answers every method and error itself). Added inside CORS and the observing middleware,
    so those still see every request that does not skip them (graph.app.Gateway)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await graphql_http(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def graphql_http(scope: Scope, receive: Receive, send: Send) -> None:
    """GraphQL over HTTP as an ASGI application. An exception escaping it is answered with a 500
    (if no response started) and raised on, as Starlette's ServerErrorMiddleware does, which
    requests that skip FastAPI's layers do not pass."""
    started = False

    async def sending(message: Any) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        request = Request.of(scope, receive)
        reply = await graphql_endpoint(request)
        if isinstance(reply, Reply):
            await reply.send(sending)
        else:
            await reply(scope, receive, sending)
    except ClientDisconnect:
        return  # nobody to answer
    except Exception:
        if not started:
            await Reply(500, b"Internal Server Error", "text/plain; charset=utf-8").send(send)
        raise


async def graphql_endpoint(request: Request) -> Any:
    """A Reply, or (GraphiQL's page) a Starlette response."""
    state: GatewayState = request.scope["app"].state.gateway
    accept = request.header(b"accept")
    if (
        request.method == "GET"
        and state.settings.graphiql_enabled
        and media.wants_html(accept)
        and not any(request.query_params().get(k) for k in ("query", "extensions", "documentId"))
    ):
        return graphiql_response()
    response_type = media.choose(accept)
    if response_type is None:
        return Reply(406, b"Accept application/graphql-response+json or application/json.")
    exchange = exchange_of(request.scope)
    try:
        return await _handle(request, state, response_type, exchange)
    except RequestError as error:
        exchange.refused(ErrorCode.BAD_USER_INPUT)
        body = {"errors": [error_dict(str(error), ErrorCode.BAD_USER_INPUT)]}
        return _respond(body, error.status, response_type, error.headers)


def _refusal_status(code: ErrorCode, strict: bool) -> int:
    """Statuses for operations refused before (or instead of) a result."""
    if code is ErrorCode.RATE_LIMITED:
        return 429
    if code is ErrorCode.TIMEOUT:
        return 504
    if code is ErrorCode.UNAVAILABLE:
        return 503
    if code is ErrorCode.PERSISTED_QUERY_NOT_FOUND:
        return 200  # Apollo's clients answer it by sending the text, on any status
    return 400 if strict else 200


def nothing_resolved(outcome: Outcome) -> bool:
    """Every root field failed, and only because the database is unavailable: the whole
    operation failed and may be sent again (a partial result is still a 200)."""
    codes = {error["extensions"]["code"] for error in outcome.errors}
    if codes != {ErrorCode.UNAVAILABLE.value}:
        return False
    if outcome.data is None:
        return True
    failed = {error["path"][0] for error in outcome.errors if error.get("path")}
    return all(value is None and key in failed for key, value in outcome.data.items())


async def _handle(
    request: Request, state: GatewayState, response_type: str, exchange: Exchange
) -> Reply:
    if request.method not in ("GET", "POST"):
        raise RequestError(405, "Use GET or POST.", {"Allow": "GET, POST"})
    params = _checked(await _params(request, state.settings.max_body_bytes))
    strict = response_type == media.GRAPHQL_RESPONSE
    try:
        text = await state.persisted.resolve(params.query, params.extensions, params.document_id)
    except Exception as error:  # trusted documents are looked up in the database
        known = expected(error)
        if known is None:
            raise
        message, code = known
        exchange.refused(code)
        headers = UNAVAILABLE_HEADERS if code is ErrorCode.UNAVAILABLE else None
        refused = {"errors": [error_dict(message, code)]}
        return _respond(refused, _refusal_status(code, strict), response_type, headers)
    prepared = await state.documents.prepare(text)
    operation = prepared.operation(params.operation_name)
    exchange.identify(operation)
    if request.method == "GET" and operation and not is_kind(operation, OperationType.QUERY):
        raise RequestError(405, "Only queries may be sent with GET; use POST.", {"Allow": "POST"})
    if prepared.valid and is_kind(operation, OperationType.SUBSCRIPTION):
        raise RequestError(
            400, "Subscriptions need a WebSocket: graphql-transport-ws on this same path."
        )
    if not prepared.valid:
        exchange.refused(prepared.errors[0]["extensions"]["code"])
        return _respond({"errors": prepared.errors}, 400 if strict else 200, response_type)
    authorization = request.header(b"authorization")
    try:
        viewer = viewer_from_header(state.settings, authorization)
    except Unauthenticated as error:
        exchange.refused(ErrorCode.UNAUTHENTICATED)
        refused = {"errors": [error_dict(str(error), ErrorCode.UNAUTHENTICATED)]}
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return _respond(refused, 401, response_type, challenge)
    client = client_key(viewer, request.client_host())
    key = response_key(state, text, params, viewer, operation)
    hit = None if key is None or state.responses is None else state.responses.get(key)
    if hit is not None and key is not None and state.responses is not None:
        hit = hit if await state.responses.fresh(key, hit) else None
    if hit is not None:
        cost = Cost(hit.requested, state.executor.policy.max_cost, hit.actual)
        try:
            await state.executor.replay(cost, viewer, client)
        except Refused as refused_:
            exchange.refused(refused_.error.code)
            exchange.cost_requested = refused_.cost.requested
            return _refused(refused_, strict, response_type)
        exchange.cost_requested, exchange.cost_actual = cost.requested, cost.actual
        exchange.answered(False)
        extensions: dict[str, Any] = {"cost": cost.as_dict()}
        if state.settings.expose_sql_count:
            extensions["sqlStatements"] = exchange.sql.count
        return _answer(
            request, state, response_type, exchange, authorization, hit.data, [], extensions
        )
    started = 0 if state.responses is None else state.responses.sequence()
    try:
        with tags.collecting() as read:
            outcome = await state.executor.run(
                prepared,
                variables=params.variables,
                operation_name=params.operation_name,
                context=state.context(viewer),
                viewer=viewer,
                client=client,
            )
    except Refused as refused_:
        exchange.refused(refused_.error.code)
        exchange.cost_requested = refused_.cost.requested
        return _refused(refused_, strict, response_type)
    exchange.cost_requested, exchange.cost_actual = outcome.cost.requested, outcome.cost.actual
    if outcome.started:
        exchange.answered(bool(outcome.errors))
    else:
        exchange.refused(ErrorCode.BAD_USER_INPUT)
    extensions = {"cost": outcome.cost.as_dict()}
    if state.settings.expose_sql_count:
        extensions["sqlStatements"] = exchange.sql.count
    data = orjson.dumps(outcome.data) if outcome.started else None
    if key is not None and data is not None:
        keep(state, key, outcome, read, data, started)
    status = 400 if strict and not outcome.started else 200
    if outcome.started and nothing_resolved(outcome):
        status = 503
    return _answer(
        request,
        state,
        response_type,
        exchange,
        authorization,
        data,
        outcome.errors,
        extensions,
        status,
    )


def response_key(
    state: GatewayState,
    text: str,
    params: Params,
    viewer: Viewer,
    operation: OperationDefinitionNode | None,
) -> tuple[Any, ...] | None:
    """What identifies a query's response: the text, the operation, the variables and whose
    eyes see it (public, or a staff role); None for what is never cached."""
    if state.responses is None or not is_kind(operation, OperationType.QUERY):
        return None
    try:
        variables = orjson.dumps(params.variables, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # nested deeper than orjson writes
        return None
    scope = viewer.role.value if viewer.is_staff else "public"
    return (text, params.operation_name, variables, scope)


def keep(
    state: GatewayState,
    key: tuple[Any, ...],
    outcome: Outcome,
    read: tags.Tags,
    data: bytes,
    started: int,
) -> None:
    """Keeps a planned query's clean response, if everything it read is tagged (and, with
    processes sharing Redis, stamped with the generations it was read at)."""
    responses = state.responses
    if responses is None or not outcome.planned or outcome.errors or read.forbidden:
        return
    if responses.shared is not None and not read.stamped:
        return
    cost = outcome.cost
    stamps = tuple(read.stamps.items())
    entry = CachedResponse(data, cost.requested, cost.actual or 0, frozenset(read.keys), stamps)
    responses.put(key, entry, started)


def _encoded(data: bytes | None, errors: list[dict[str, Any]], extensions: dict[str, Any]) -> bytes:
    """The response body around `data` already encoded (a cached response's bytes as they
    are)."""
    # One join: `data` is copied once (a cached W3 is ~100 KB; each `+` copied it again).
    parts = [b"{"]
    if errors:
        parts += (b'"errors":', orjson.dumps(errors), b",")
    if data is not None:
        parts += (b'"data":', data, b",")
    parts += (b'"extensions":', orjson.dumps(extensions), b"}")
    return b"".join(parts)


def _answer(
    request: Request,
    state: GatewayState,
    response_type: str,
    exchange: Exchange,
    authorization: str | None,
    data: bytes | None,
    errors: list[dict[str, Any]],
    extensions: dict[str, Any],
    status: int = 200,
) -> Reply:
    content = _encoded(data, errors, extensions)
    if len(content) > state.settings.max_response_bytes:
        limit = state.settings.max_response_bytes
        too_large = ResponseTooLarge(
            f"The response is {len(content)} bytes; the limit is {limit}. Ask for less."
        )
        refused = [error_dict(str(too_large), too_large.code)]
        exchange.refused(too_large.code)
        strict = response_type == media.GRAPHQL_RESPONSE
        return _respond(
            {"errors": refused, "extensions": extensions}, 400 if strict else 200, response_type
        )
    caching = http_caching(
        request.method,
        request.header(b"if-none-match"),
        authorization=authorization,
        content=data if data is not None else content,
        errors=errors,
        max_age=state.settings.http_cache_max_age_seconds,
    )
    if caching.not_modified:
        return Reply(304, b"", None, caching.headers)
    headers = caching.headers | UNAVAILABLE_HEADERS if status == 503 else caching.headers
    return Reply(status, content, MEDIA_TYPES[response_type], headers)


def _refused(refused: Refused, strict: bool, response_type: str) -> Reply:
    error = refused.error
    body = {
        "errors": [error_dict(str(error), error.code)],
        "extensions": {"cost": refused.cost.as_dict()},
    }
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return _respond(body, _refusal_status(error.code, strict), response_type, headers)
