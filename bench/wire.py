"""A lean HTTP/1.1 client for the measured requests: keep-alive connections, one request at a
time on each, Content-Length bodies only (what the gateway sends).

httpx costs the load generator ~0.5 ms of CPU per request; on a machine where the generator and
the server share the cores, that starved the server of requests and charged it, per request, for
waking up for each one alone. The peers' figures were taken with wrk; this comes closer.
"""

import asyncio
from urllib.parse import urlsplit


class WireError(Exception):
    """The server answered with something this client does not read, or hung up."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise WireError("a response without Content-Length")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class Wire:
    """POSTs JSON bodies to one URL over up to `connections` kept-alive connections."""

    def __init__(self, url: str, connections: int, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.head = "\r\n".join(head).encode()
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(connections)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()

    async def post(self, body: bytes) -> tuple[int, bytes]:
        request = self.head + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        async with self.slots:
            while self.idle:
                connection = self.idle.pop()
                try:
                    return await self._exchange(connection, request)
                except asyncio.IncompleteReadError as error:
                    # Closed by the server while idle (its keep-alive timeout: a wrk run
                    # keeps this client idle for longer): try the next, then a new one. A
                    # connection that answered part of the response did not just time out.
                    if error.partial:
                        raise
            return await self._exchange(await self._connect(), request)

    async def _exchange(self, connection: Connection, request: bytes) -> tuple[int, bytes]:
        try:
            answer = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        self.idle.append(connection)
        return answer

    async def _connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer)
