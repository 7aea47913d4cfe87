"""A response's writes of one loop turn leave in one send, in order; large ones as they come;
nothing written is lost when the connection closes."""

import asyncio

from graph.transport.joined import SEPARATE_BYTES, JoinedWrites


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 1234) if name == "peername" else default


async def test_the_writes_of_a_turn_leave_together_and_in_order() -> None:
    transport = Recording()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
    joined.write(b'{"data":1}')
    assert transport.sent == []
    await asyncio.sleep(0)
    assert transport.sent == [b'HTTP/1.1 200 OK\r\n\r\n{"data":1}']
    joined.write(b"next")
    await asyncio.sleep(0)
    assert transport.sent[1:] == [b"next"]
    assert joined.get_extra_info("peername") == ("127.0.0.1", 1234)


async def test_a_large_write_leaves_at_once_after_what_was_waiting() -> None:
    transport = Recording()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    large = b"x" * SEPARATE_BYTES
    joined.write(b"headers")
    joined.write(large)
    assert transport.sent == [b"headers", large]
    await asyncio.sleep(0)
    assert transport.sent == [b"headers", large]


async def test_closing_sends_what_waits_and_later_writes_are_dropped() -> None:
    transport = Recording()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    joined.write(b"last words")
    joined.close()
    assert transport.sent == [b"last words"]
    assert transport.closed
    joined.write(b"too late")
    await asyncio.sleep(0)
    assert transport.sent == [b"last words"]


async def test_small_writes_that_add_up_leave_without_waiting_for_the_turn() -> None:
    transport = Recording()
    joined = JoinedWrites(transport, asyncio.get_running_loop())
    chunk = b"y" * (SEPARATE_BYTES // 4)
    for _ in range(4):
        joined.write(chunk)
    assert transport.sent == [chunk * 4]
    joined.write(b"tail")
    await asyncio.sleep(0)
    assert transport.sent == [chunk * 4, b"tail"]
