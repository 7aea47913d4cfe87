"""Generation keys watched through Redis's client-side caching: every bump of a generation key
by any process is pushed to this one, so a response kept here can be served without asking
Redis whether its tags moved (an MGET that cost more than the rest of a hit).

One connection speaks RESP3 with `CLIENT TRACKING ON BCAST PREFIX <generations>`. Redis writes
the invalidation to every watcher in the same pass over its clients as the writer's own reply,
watchers first (it queues broadcasts before it writes replies, and writes the last queued
first; with Redis's default of one I/O thread). So once a writer on this host has heard that
its bump is done, the invalidation is already in this process's socket, and `vouches()` reads
the socket (without waiting) before it says yes. (A FLUSHDB's invalidation is written after the
flusher's reply; the gateway's writes only bump.) Across hosts it is the network's order, not
Redis's: a packet to this host delayed past the writer's reply and the client's next request is
the window.

It vouches only while the connection is up and Redis has answered a ping sent within the last
`lease` seconds: a frozen or unreachable Redis stops vouching before a writer whose bump timed
out can answer (`lease` is the cache's own timeout). Then, and whenever the connection is being
re-established, the caller checks its hits as before. Once tracking is on again, everything
kept meanwhile is forgotten (`on_reset`): bumps made while no one watched were never pushed.
"""

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url

log = logging.getLogger(__name__)
RECEIVE_BYTES = 65_536
RECONNECT_SECONDS = (0.05, 5.0)
# Pings unanswered before it stops sending more (Redis frozen for long): their send times are
# kept until answered, so this bounds them; the lease has run out long before.
MAX_PENDING_PINGS = 64
PING = hiredis.pack_command(("PING",))


class WatchRefused(Exception):
    """This Redis will not push invalidations (no RESP3, no tracking, no permission)."""


def address(url: str) -> tuple[int, Any, dict[str, Any]]:
    """(family, address, HELLO's credentials) of a redis:// or unix:// URL; TLS is refused."""
    options = parse_url(url)
    if options.get("connection_class") is not None and "path" not in options:
        raise WatchRefused("TLS connections are not watched")
    credentials = {k: options[k] for k in ("username", "password") if options.get(k)}
    if "path" in options:
        return socket.AF_UNIX, options["path"], credentials
    return (
        socket.AF_INET,
        (options.get("host", "localhost"), options.get("port", 6379)),
        credentials,
    )


class GenerationWatch:
    """`on_change(keys)`: those generation keys moved; `on_reset()`: anything may have moved."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        lease: float,
        on_change: Callable[[Iterable[str]], None],
        on_reset: Callable[[], None],
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.lease = lease
        self.on_change = on_change
        self.on_reset = on_reset
        self._socket: socket.socket | None = None
        self._reader: Any = None
        # When the newest ping Redis has answered was sent; pings not yet answered, oldest first.
        self._heard_as_of = float("-inf")
        self._pings: list[float] = []
        self._lost: asyncio.Event | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self.pushed = 0
        self.resets = 0
        self.lapsed = 0

    @property
    def connected(self) -> bool:
        return self._socket is not None

    def vouches(self) -> bool:
        """Whether every generation bump Redis has confirmed to anyone has reached `on_change`."""
        if self._socket is None:
            return False
        self._drain()
        if self._socket is None:
            return False
        if time.monotonic() - self._heard_as_of > self.lease:
            self.lapsed += 1
            return False
        return True

    async def run(self) -> None:
        """Keeps the watch connected until cancelled; stops trying if Redis refuses it."""
        delay = RECONNECT_SECONDS[0]
        while True:
            self._lost = asyncio.Event()
            try:
                await asyncio.wait_for(self._connect(), timeout=max(1.0, 10 * self.lease))
                delay = RECONNECT_SECONDS[0]
                await self._lost.wait()
            except WatchRefused as refused:
                log.warning("cached responses are checked in Redis on every hit: %s", refused)
                self._close()
                return
            except (TimeoutError, OSError, hiredis.ProtocolError) as error:
                log.warning("the generation watch could not connect: %r", error)
            finally:
                self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_SECONDS[1])

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        family, target, credentials = address(self.url)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, target)
            hello: tuple[str, ...] = ("HELLO", "3")
            if credentials:
                hello += ("AUTH", credentials.get("username", "default"), credentials["password"])
            tracking = ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.prefix)
            name = ("CLIENT", "SETNAME", "gateway-generation-watch")
            # hiredis's stub types the argument as a one-element tuple; it takes any length.
            commands: tuple[Any, ...] = (hello, tracking, name)
            setup = b"".join(hiredis.pack_command(parts) for parts in commands)
            await loop.sock_sendall(sock, setup)
            reader = hiredis.Reader()
            replies: list[Any] = []
            while len(replies) < 3:
                data = await loop.sock_recv(sock, RECEIVE_BYTES)
                if not data:
                    raise ConnectionResetError("Redis closed the watch while it was set up")
                reader.feed(data)
                while len(replies) < 3 and (reply := reader.gets()) is not False:
                    replies.append(reply)
            for reply in replies:
                if isinstance(reply, hiredis.ReplyError):
                    raise WatchRefused(str(reply))
        except BaseException:
            sock.close()
            raise
        # Tracking is on from here: what was kept before may miss a bump no one pushed.
        self.resets += 1
        self.on_reset()
        self._socket, self._reader = sock, reader
        self._heard_as_of = time.monotonic()
        self._pings.clear()
        loop.add_reader(sock.fileno(), self._drain)
        self._apply()  # anything that came with the replies
        self._tick()
        log.info("cached responses follow generation bumps pushed by Redis")

    def _tick(self) -> None:
        sock = self._socket
        if sock is None:
            return
        try:
            if len(self._pings) < MAX_PENDING_PINGS:
                sock.send(PING)
                self._pings.append(time.monotonic())
        except BlockingIOError:
            pass  # a full send buffer: the lease runs out, and hits are checked meanwhile
        except OSError as error:
            self._fail(error)
            return
        loop = asyncio.get_running_loop()
        self._ticker = loop.call_later(self.lease / 3, self._tick)

    def _drain(self) -> None:
        sock = self._socket
        while sock is not None:
            try:
                data = sock.recv(RECEIVE_BYTES)
            except BlockingIOError:
                return
            except OSError as error:
                self._fail(error)
                return
            if not data:
                self._fail(ConnectionResetError("Redis closed the watch"))
                return
            # Read on to EAGAIN: a close right behind a message is seen by this very call.
            self._reader.feed(data)
            try:
                self._apply()
            except hiredis.ProtocolError as error:  # not Redis speaking: never the hit's error
                self._fail(error)
                return

    def _apply(self) -> None:
        while (message := self._reader.gets()) is not False:
            if isinstance(message, list) and message and message[0] == b"invalidate":
                self.pushed += 1
                keys: Sequence[bytes] | None = message[1]
                if keys is None:  # a flush: every key may be gone
                    self.on_reset()
                else:
                    self.on_change([key.decode() for key in keys])
            elif message == b"PONG" and self._pings:
                self._heard_as_of = self._pings.pop(0)
            else:
                log.warning("the generation watch read an unexpected reply: %r", message)

    def _fail(self, error: BaseException) -> None:
        log.warning("the generation watch lost Redis (%r); hits are checked in Redis", error)
        self._close()
        if self._lost is not None:
            self._lost.set()

    def _close(self) -> None:
        sock, self._socket = self._socket, None
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if sock is not None:
            with contextlib.suppress(RuntimeError):  # no loop: none had it registered
                asyncio.get_running_loop().remove_reader(sock.fileno())
            sock.close()

    def stats(self) -> dict[str, int | bool]:
        return {
            "connected": self.connected,
            "pushed": self.pushed,
            "resets": self.resets,
            "lapsed": self.lapsed,
        }
