"""A TCP proxy that can partition the network: while partitioned it reads what either side sends
and drops it, so clients see their requests go unanswered (time-outs), not refusals, as behind a
firewall that drops packets. It runs its own event loop on a thread, so a test that blocks does
not stall it."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class PartitionProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.partitioned = False
        self.dropped = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="partition-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pump(reader, upstream_writer),
            self._pump(upstream_reader, writer),
            return_exceptions=True,
        )

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.partitioned:
                    self.dropped += len(data)
                    continue
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def start(self) -> "PartitionProxy":
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextmanager
def partition_proxy(target_host: str, target_port: int) -> Iterator[PartitionProxy]:
    proxy = PartitionProxy(target_host, target_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
