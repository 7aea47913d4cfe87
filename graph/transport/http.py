"""GraphQL over HTTP (graphql/graphql-over-http): GET for queries, POST with JSON for anything.

A plain Starlette endpoint rather than a FastAPI route: the hot path does no dependency
resolution, and the status codes follow the spec for both response media types.
"""

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from db import stats
from graph.auth import viewer_from_header
from graph.errors import ErrorCode, Unauthenticated
from graph.execution.executor import error_dict
from graph.state import GatewayState
from graph.transport import media
from graph.transport.graphiql import graphiql_response


class RequestError(Exception):
    """The request is not a well-formed GraphQL-over-HTTP request."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _respond(
    body: dict[str, Any], status: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=headers,
    )


async def _params(request: Request, max_bytes: int) -> dict[str, Any]:
    if request.method == "GET":
        query = request.query_params
        params: dict[str, Any] = {k: query.get(k) for k in ("query", "operationName")}
        for key in ("variables", "extensions"):
            if query.get(key):
                try:
                    params[key] = orjson.loads(query[key])
                except orjson.JSONDecodeError:
                    raise RequestError(400, f"`{key}` is not valid JSON.") from None
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != media.JSON:
        raise RequestError(415, "Send the request body as application/json.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RequestError(413, f"The body is larger than {max_bytes} bytes.")
    body = await request.body()
    if len(body) > max_bytes:
        raise RequestError(413, f"The body is larger than {max_bytes} bytes.")
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "The body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise RequestError(400, "The body must be a JSON object.")
    return params


def _checked(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "`query` must be a non-empty string.")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string.")
    return query, variables, name


async def graphql_endpoint(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    accept = request.headers.get("accept")
    if (
        request.method == "GET"
        and state.settings.graphiql
        and not request.query_params.get("query")
        and media.wants_html(accept)
    ):
        return graphiql_response()
    response_type = media.choose(accept)
    if response_type is None:
        return Response("Accept application/graphql-response+json or application/json.", 406)
    try:
        return await _handle(request, state, response_type)
    except RequestError as error:
        body = {"errors": [error_dict(str(error), ErrorCode.BAD_USER_INPUT)]}
        return _respond(body, error.status, response_type, error.headers)


async def _handle(request: Request, state: GatewayState, response_type: str) -> Response:
    if request.method not in ("GET", "POST"):
        raise RequestError(405, "Use GET or POST.", {"Allow": "GET, POST"})
    query, variables, operation_name = _checked(
        await _params(request, state.settings.max_body_bytes)
    )
    executor = state.executor
    prepared = executor.prepare(query)
    strict = response_type == media.GRAPHQL_RESPONSE
    document = prepared.document
    if document is not None and request.method == "GET":
        operation = executor.operation(document, operation_name)
        if operation is not None and not executor.is_query(operation):
            raise RequestError(
                405, "Only queries may be sent with GET; use POST.", {"Allow": "POST"}
            )
    if prepared.valid and executor.is_subscription(
        executor.operation(prepared.document, operation_name)  # type: ignore[arg-type]
    ):
        raise RequestError(
            400, "Subscriptions need a WebSocket: graphql-transport-ws on this same path."
        )
    if document is None or not prepared.valid:
        return _respond({"errors": prepared.errors}, 400 if strict else 200, response_type)
    try:
        viewer = viewer_from_header(state.settings, request.headers.get("authorization"))
    except Unauthenticated as error:
        refused = {"errors": [error_dict(str(error), ErrorCode.UNAUTHENTICATED)]}
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return _respond(refused, 401, response_type, challenge)
    counter = stats.start_counting() if state.settings.expose_sql_count else None
    context = state.context(viewer)
    data, errors, started = await executor.execute(
        document, variables=variables, operation_name=operation_name, context=context
    )
    body: dict[str, Any] = {}
    if errors:
        body["errors"] = errors
    if started:
        body["data"] = data
    if counter is not None:
        body["extensions"] = {"sqlStatements": counter.count}
    status = 400 if strict and not started else 200
    return _respond(body, status, response_type)
