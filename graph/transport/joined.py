"""uvicorn's HTTP protocol (httptools), but a response goes out in one send, not two.

uvicorn writes a response's status line and headers when the app starts the response, and the
body when it sends it: two system calls, and on a keep-alive connection two wake-ups of the
client, where one would do: for a small cached response (P1) those two writes were nearly a
third of the server's CPU. Here small writes of one turn of the event loop are joined and sent
at its end (`call_soon`), so a small response leaves in one send (P1 cached: 0.094 -> 0.075 ms
of server CPU, `make bench`); a large write leaves at once, after what waited.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Larger writes go out as they come: joining them saved nothing, and cost more server CPU
# (W2's 40 kB responses: 0.068 -> 0.083 ms).
SEPARATE_BYTES = 4096


class JoinedWrites:
    """A transport whose writes of one loop turn are sent together; everything else is the
    transport's own."""

    __slots__ = ("_loop", "_pending", "_pending_bytes", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes) -> None:
        if len(data) >= SEPARATE_BYTES:
            self.flush()
            self.transport.write(data)
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= SEPARATE_BYTES:
            # Many small writes in one turn (a stream): out now, under the transport's flow
            # control, which does not see what waits here.
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._pending_bytes = 0
        if not self.transport.is_closing():
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class JoinedHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        joined = JoinedWrites(transport, self.loop)
        super().connection_made(joined)  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the transport over; it gets the real one.
        joined = self.transport
        if isinstance(joined, JoinedWrites):
            joined.flush()
            self.transport = joined.transport
        super().handle_websocket_upgrade()
