"""GraphQL over WebSocket: the graphql-transport-ws protocol (enisdenjo/graphql-ws) on /graphql,
and, only with WS_LEGACY_PROTOCOL=true, Apollo's retired subscriptions-transport-ws (`graphql-ws`).

Close codes are graphql-transport-ws's: 4400 bad message, 4401 subscribe before the ack, 4403
bad or expired token (or a browser page on an origin CORS_ORIGINS does not list), 4406 no
acceptable subprotocol, 4408 no connection_init in time, 4409 a duplicate operation id, 4429 a
second connection_init. Operation failures are GraphQL errors with a stable `extensions.code`
and the connection serves on.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import OperationType
from starlette.websockets import WebSocket, WebSocketDisconnect

from graph.auth import viewer_from_header
from graph.errors import (
    BadUserInput,
    ErrorCode,
    GatewayError,
    Unauthenticated,
    error_dict,
    expected,
)
from graph.execution.documents import is_kind
from graph.execution.executor import MASKED_MESSAGE, Cost, Refused, client_key
from graph.state import GatewayState
from graph.transport.cors import upgrade_allowed
from graph.viewer import ANONYMOUS, Viewer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where the two protocols differ; everything else is shared."""

    subprotocol: str
    start: str  # client: run an operation
    stop: str  # client: stop one
    result: str  # server: one result of an operation
    keepalive: str  # server: sent periodically (and, in the legacy protocol, after the ack)
    pings: bool  # ping/pong messages exist
    # A second start with a running id: the legacy protocol restarts it, the modern one closes.
    restarts: bool


MODERN = Dialect("graphql-transport-ws", "subscribe", "complete", "next", "ping", True, False)
LEGACY = Dialect("graphql-ws", "start", "stop", "data", "ka", False, True)
PROTOCOL = MODERN.subprotocol


MASKED = [error_dict(MASKED_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR)]
MAX_REASON_BYTES = 123  # what a close frame can carry (RFC 6455, 5.5)


def _reason(text: str) -> str:
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


class Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = _reason(reason)


def _loop_time(moment: datetime) -> float:
    """`moment` on the running loop's clock."""
    remaining = (moment - datetime.now(UTC)).total_seconds()
    return asyncio.get_running_loop().time() + max(remaining, 0.0)


def _viewer(state: GatewayState, payload: Any) -> Viewer:
    """The token as `{"authorization": "Bearer <jwt>"}` (the header's form) or `{"token": ...}`."""
    if payload is None:
        return ANONYMOUS
    if not isinstance(payload, dict):
        raise Close(4400, "connection_init's payload must be an object")
    header = payload.get("authorization", payload.get("Authorization"))
    token = payload.get("token")
    if header is None and token is not None:
        header = f"Bearer {token}" if isinstance(token, str) else token
    if header is not None and not isinstance(header, str):
        raise Close(4403, "Forbidden: the token must be a string")
    try:
        return viewer_from_header(state.settings, header)
    except Unauthenticated as error:
        raise Close(4403, f"Forbidden: {error}") from None


class Connection:
    def __init__(
        self, websocket: WebSocket, state: GatewayState, dialect: Dialect = MODERN
    ) -> None:
        self.websocket = websocket
        self.state = state
        self.dialect = dialect
        self.viewer: Viewer | None = None
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_text(orjson.dumps(message).decode())

    async def serve(self) -> None:
        settings = self.state.settings
        keepalive = asyncio.create_task(self._keepalive(settings.ws_keepalive_seconds))
        try:
            async with asyncio.timeout(settings.ws_init_timeout_seconds) as deadline:
                while self.viewer is None:
                    await self._receive()
                deadline.reschedule(None)
            expires = self.viewer.expires_at
            async with asyncio.timeout_at(None if expires is None else _loop_time(expires)):
                while True:
                    await self._receive()
        except TimeoutError:
            if self.viewer is None:
                await self.websocket.close(4408, "Connection initialisation timeout")
            else:  # a signed-in connection lives as long as its token
                await self.websocket.close(4403, "Forbidden: the token has expired")
        except Close as close:
            await self.websocket.close(close.code, close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            keepalive.cancel()
            for task in list(self.operations.values()):
                task.cancel()
            await asyncio.gather(keepalive, *self.operations.values(), return_exceptions=True)

    async def _keepalive(self, seconds: float) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(seconds)
                await self.send({"type": self.dialect.keepalive})

    async def _receive(self) -> None:
        received = await self.websocket.receive()
        if received["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(received.get("code", 1000))
        text = received.get("text")
        if text is None:
            raise Close(4400, "Invalid message: the protocol speaks text frames")
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise Close(4400, "Invalid message: not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise Close(4400, "Invalid message: an object with a `type` is expected")
        await self._handle(message["type"], message)

    async def _handle(self, kind: str, message: dict[str, Any]) -> None:
        dialect = self.dialect
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif dialect.pings and kind == "ping":
            await self.send({"type": "pong"})
        elif dialect.pings and kind == "pong":
            pass
        elif kind == dialect.start:
            self._subscribe(message)
        elif kind == dialect.stop:
            self._stop(str(message.get("id")))
        elif dialect is LEGACY and kind == "connection_terminate":
            raise Close(1000, "Terminated")
        else:
            raise Close(4400, f"Invalid message type {kind[:50]!r}")

    async def _init(self, payload: Any) -> None:
        if self.init_received:
            raise Close(4429, "Too many initialisation requests")
        self.init_received = True
        try:
            self.viewer = _viewer(self.state, payload)
        except Close as refused:
            if self.dialect is LEGACY:  # it says why in a message before closing
                await self.send(
                    {"type": "connection_error", "payload": {"message": refused.reason}}
                )
            raise
        await self.send({"type": "connection_ack"})
        if self.dialect is LEGACY:
            await self.send({"type": self.dialect.keepalive})

    def _stop(self, op_id: str) -> None:
        task = self.operations.pop(op_id, None)
        if task is not None:
            task.cancel()

    def _subscribe(self, message: dict[str, Any]) -> None:
        if self.viewer is None:
            raise Close(4401, "Unauthorized")
        op_id, payload = message.get("id"), message.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            raise Close(4400, "Invalid message: subscribe needs an `id` and a `payload`")
        if op_id in self.operations:
            if not self.dialect.restarts:
                raise Close(4409, f"Subscriber for {op_id} already exists")
            self._stop(op_id)
        if len(self.operations) >= self.state.settings.ws_max_subscriptions:
            limit = self.state.settings.ws_max_subscriptions
            text = f"A connection may run at most {limit} operations at once."
            refused = [error_dict(text, ErrorCode.TOO_MANY_SUBSCRIPTIONS)]
            task = asyncio.create_task(self._refuse(op_id, refused))
        else:
            task = asyncio.create_task(self._operate(op_id, payload, self.viewer))
        self.operations[op_id] = task
        task.add_done_callback(lambda done: self._forget(op_id, done))

    def _forget(self, op_id: str, task: asyncio.Task[None]) -> None:
        if self.operations.get(op_id) is task:
            del self.operations[op_id]

    async def _refuse(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        await self.send({"type": "error", "id": op_id, "payload": errors})

    async def _operate(self, op_id: str, payload: dict[str, Any], viewer: Viewer) -> None:
        try:
            await self._run(op_id, payload, viewer)
        except GatewayError as error:
            await self._refuse(op_id, [error_dict(str(error), error.code)])
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the client completed it or left
            # Cancelled without being asked: something it awaited was cancelled under it.
            log.error("operation %s was cancelled from outside", op_id[:100])
            await self._refuse(op_id, MASKED)
        except WebSocketDisconnect:
            return  # the connection's receive loop sees the disconnect and ends everything
        except Exception as error:
            known = expected(error)  # the database may be unavailable (a replay, a lookup)
            if known is None:
                log.exception("operation %s failed", op_id[:100])
            await self._refuse(op_id, MASKED if known is None else [error_dict(*known)])

    async def _run(self, op_id: str, payload: dict[str, Any], viewer: Viewer) -> None:
        query, variables, name, extensions = (
            payload.get("query"),
            payload.get("variables"),
            payload.get("operationName"),
            payload.get("extensions"),
        )
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise BadUserInput("`query` must be a non-empty string.")
        if variables is not None and not isinstance(variables, dict):
            raise BadUserInput("`variables` must be an object.")
        if name is not None and not isinstance(name, str):
            raise BadUserInput("`operationName` must be a string.")
        if extensions is not None and not isinstance(extensions, dict):
            raise BadUserInput("`extensions` must be an object.")
        text = await self.state.persisted.resolve(query, extensions, None)
        prepared = await self.state.documents.prepare(text)
        if prepared.document is None or not prepared.valid:
            await self._refuse(op_id, prepared.errors)
            return
        executor = self.state.executor
        context = self.state.context(viewer, socket=True)
        client = client_key(viewer, self.websocket.client.host if self.websocket.client else None)
        if not is_kind(prepared.operation(name), OperationType.SUBSCRIPTION):
            try:
                outcome = await executor.run(
                    prepared,
                    variables=variables,
                    operation_name=name,
                    context=context,
                    viewer=viewer,
                    client=client,
                )
            except Refused as refused:
                await self._refuse(op_id, [error_dict(str(refused.error), refused.error.code)])
                return
            if not outcome.started:
                await self._refuse(op_id, outcome.errors)
                return
            await self._next(op_id, outcome.data, outcome.errors)
            await self.send({"type": "complete", "id": op_id})
            return
        # A subscription pays for one event's selection when it starts.
        try:
            cost = Cost(prepared.cost_plan(name).estimate(variables), executor.policy.max_cost)
            await executor.admit(cost, viewer, client)
        except Refused as refused:
            await self._refuse(op_id, [error_dict(str(refused.error), refused.error.code)])
            return
        # Subscribers with the same document, variables and role receive the same results.
        try:
            shape = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # nested deeper than orjson writes (it reads deeper)
            raise BadUserInput("`variables` are nested too deeply.") from None
        share_key = (text, name, shape, viewer.role)
        stream = await executor.subscribe(
            prepared.document,
            variables=variables,
            operation_name=name,
            context=context,
            share_key=share_key,
        )
        if isinstance(stream, list):
            await self._refuse(op_id, stream)
            return
        async with contextlib.aclosing(stream):
            async for data, errors in stream:
                await self._next(op_id, data, errors)
        await self.send({"type": "complete", "id": op_id})

    async def _next(self, op_id: str, data: Any, errors: list[dict[str, Any]]) -> None:
        result: dict[str, Any] = {"data": data}
        if errors:
            result["errors"] = errors
        await self.send({"type": self.dialect.result, "id": op_id, "payload": result})


async def graphql_ws_endpoint(websocket: WebSocket) -> None:
    state: GatewayState = websocket.app.state.gateway
    dialects = [MODERN, LEGACY] if state.settings.ws_legacy_protocol else [MODERN]
    offered = websocket.scope.get("subprotocols", [])
    # The client's order of preference decides between the protocols this server speaks.
    dialect = next((d for name in offered for d in dialects if d.subprotocol == name), None)
    # Refusals accept first and then close: a close before the accept reaches the client as a
    # bare HTTP 403, which browsers hide from the page (graphql-ws sees only an abrupt 1006).
    # A refused client's own first subprotocol is echoed, because browsers and Node's `ws` fail
    # a handshake that answers an offer with none, and would never see the 4406 that says why.
    answer = dialect.subprotocol if dialect is not None else next(iter(offered), None)
    await websocket.accept(subprotocol=answer)
    if not upgrade_allowed(state.settings.cors_origins, websocket.headers):
        origin = websocket.headers.get("origin", "")
        await websocket.close(4403, _reason(f"Forbidden: origin {origin} is not allowed"))
        return
    if dialect is None:
        await websocket.close(4406, "Subprotocol not acceptable")
        return
    await Connection(websocket, state, dialect).serve()
