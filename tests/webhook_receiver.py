"""A real HTTP endpoint for webhook tests: records each POST and answers with scripted statuses.

It runs on the test's event loop, so it serves while the test awaits; deliveries come from the
gateway's job thread over a real socket.
"""

import asyncio
import contextlib
import hashlib
import hmac
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import orjson

REASONS = {200: "OK", 302: "Found", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers["x-gateway-signature"], f"sha256={expected}")


class Receiver:
    """Answers the n-th request with `statuses[n]`, then with `default`, and a `location`
    header if one is given. While `gate` is set to an unset event, each request waits for it
    before being answered. With `tls`, it speaks HTTPS."""

    def __init__(
        self,
        statuses: Iterable[int] = (),
        default: int = 200,
        *,
        location: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.statuses = list(statuses)
        self.default = default
        self.location = location
        self.tls = tls
        self.requests: list[Received] = []
        self.gate: asyncio.Event | None = None
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks"

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def received(self, count: int, seconds: float = 30) -> list[Received]:
        """The first `count` requests, once they have all arrived."""
        deadline = asyncio.get_running_loop().time() + seconds
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"got {len(self.requests)} of {count} webhook requests")
            await asyncio.sleep(0.02)
        return self.requests[:count]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            status = self.statuses.pop(0) if self.statuses else self.default
            self.requests.append(Received(headers, body))
            if self.gate is not None:
                await self.gate.wait()
            reason = REASONS.get(status, "Status")
            answer = f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n"
            if self.location is not None:
                answer += f"Location: {self.location}\r\n"
            writer.write(f"{answer}\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up (a timeout); nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
