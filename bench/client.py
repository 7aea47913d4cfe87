"""One GraphQL request, timed and judged: status, `errors`, and the SQL statement count."""

import asyncio
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import orjson

from bench.wire import Wire, WireError

HEADERS = {"content-type": "application/json", "accept": "application/json"}
ERROR_TEXT = 120


@dataclass(frozen=True, slots=True)
class Outcome:
    started: float
    seconds: float
    error: str | None
    sql: int | None


class QueryFailed(Exception):
    """A request made to prepare variables did not return data."""


def _error(status: int, body: Any) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    errors = body.get("errors") if isinstance(body, dict) else ["not a JSON object"]
    if not errors:
        return None
    first = errors[0]
    if not isinstance(first, dict):
        return str(first)[:ERROR_TEXT]
    code = (first.get("extensions") or {}).get("code", "?")
    return f"{code}: {first.get('message', '')}"[:ERROR_TEXT]


def _sql(body: Any) -> int | None:
    extensions = body.get("extensions") if isinstance(body, dict) else None
    count = extensions.get("sqlStatements") if isinstance(extensions, dict) else None
    return count if isinstance(count, int) else None


class GraphQLClient:
    """Keeps up to `connections` keep-alive connections to one GraphQL endpoint."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.AsyncClient(headers=HEADERS, limits=limits, timeout=30.0)
        # The measured requests go over the lean client; httpx prepares (and reads cookies).
        self.wire = Wire(url, connections, HEADERS)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.http.aclose()
        self.wire.close()

    async def send(self, document: str, variables: dict[str, Any] | None) -> Outcome:
        payload = orjson.dumps({"query": document, "variables": variables})
        started = time.perf_counter()
        try:
            status, content = await asyncio.wait_for(self.wire.post(payload), 30.0)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, WireError) as error:
            return Outcome(started, time.perf_counter() - started, type(error).__name__, None)
        seconds = time.perf_counter() - started
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            return Outcome(started, seconds, f"HTTP {status}, not JSON", None)
        return Outcome(started, seconds, _error(status, body), _sql(body))

    async def data(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        """The `data` of a query that must succeed."""
        payload = orjson.dumps({"query": document, "variables": variables})
        response = await self.http.post(self.url, content=payload)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise QueryFailed(f"HTTP {response.status_code}, not JSON") from None
        error = _error(response.status_code, body)
        if error is not None:
            raise QueryFailed(error)
        return body["data"]
