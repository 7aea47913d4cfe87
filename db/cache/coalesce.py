"""Reads of concurrent callers, sent as one: every caller that asks while a loop turn's callers
gather shares one round trip for the union of their keys.

Each caller's read is sent after it asked (the batch leaves on the loop's next turn, never
earlier), so a caller sees whatever was written before it asked, as with a read of its own.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")

# Reads the values of keys; None when it cannot say (for every caller of the batch).
Read = Callable[[list[str]], Awaitable[list[V] | None]]


class Coalesced(Generic[V]):
    __slots__ = ("_read", "_sending", "_waiting")

    def __init__(self, read: Read[V]) -> None:
        self._read = read
        self._waiting: list[tuple[Sequence[str], asyncio.Future[list[V] | None]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def read(self, keys: Sequence[str]) -> list[V] | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[V] | None] = loop.create_future()
        self._waiting.append((keys, future))
        if len(self._waiting) == 1:
            # The task's first step runs on the next turn, after this turn's other callers.
            task = loop.create_task(self._send())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return await future

    async def _send(self) -> None:
        waiting, self._waiting = self._waiting, []
        union = list(dict.fromkeys(key for keys, _ in waiting for key in keys))
        try:
            values = await self._read(union)
        except BaseException as error:
            for _, future in waiting:
                if future.done():
                    continue
                if isinstance(error, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(error)
            if isinstance(error, Exception):
                return  # every caller has it
            raise
        found = None if values is None else dict(zip(union, values, strict=True))
        for keys, future in waiting:
            if not future.done():  # a caller cancelled meanwhile
                future.set_result(None if found is None else [found[key] for key in keys])
