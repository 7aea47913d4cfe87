"""Calls of concurrent callers, sent as one: every call made while a loop turn's callers gather
shares one round trip (to Redis: a cached response's generations, a budget's take).

Each call is sent after it was made (the batch leaves on the loop's next turn, never earlier),
so a caller sees whatever was written before it called, as with a round trip of its own.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")
V = TypeVar("V")


class Batched(Generic[R, T]):
    """`await batched(request)`: `send` gets the requests of a turn, in the order they came,
    and answers each (a list as long as its argument); what it raises reaches every caller."""

    __slots__ = ("_send", "_sending", "_waiting")

    def __init__(self, send: Callable[[list[R]], Awaitable[list[T]]]) -> None:
        self._send = send
        self._waiting: list[tuple[R, asyncio.Future[T]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def __call__(self, request: R) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((request, future))
        if len(self._waiting) == 1:
            # The task's first step runs on the next turn, after this turn's other callers.
            batch = self._waiting
            task = loop.create_task(self._flush(batch))
            self._sending.add(task)
            task.add_done_callback(lambda done: self._finished(done, batch))
        return await future

    def _finished(
        self, task: "asyncio.Task[None]", batch: list[tuple[R, asyncio.Future[T]]]
    ) -> None:
        """Nobody waits forever: a batch whose task ended without answering it (cancelled
        before its first step, at shutdown) is cancelled, and later calls start a new one."""
        self._sending.discard(task)
        if self._waiting is batch:
            self._waiting = []
        for _, future in batch:
            if not future.done():
                future.cancel()

    async def _flush(self, batch: list[tuple[R, asyncio.Future[T]]]) -> None:
        if self._waiting is batch:
            self._waiting = []
        try:
            answers = await self._send([request for request, _ in batch])
            if len(answers) != len(batch):
                raise ValueError(f"{len(answers)} answers to {len(batch)} requests")
        except BaseException as error:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(error, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(error)
            if isinstance(error, Exception):
                return  # every caller has it
            raise
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # a caller cancelled meanwhile
                future.set_result(answer)


class Coalesced(Generic[V]):
    """Reads of keys' values: a turn's reads become one read of the union of their keys.
    `read` answers None when it cannot say, for every caller of the batch."""

    __slots__ = ("_batched", "_read")

    def __init__(self, read: Callable[[list[str]], Awaitable[list[V] | None]]) -> None:
        self._read = read
        self._batched: Batched[Sequence[str], list[V] | None] = Batched(self._send)

    async def read(self, keys: Sequence[str]) -> list[V] | None:
        return await self._batched(keys)

    async def _send(self, requests: list[Sequence[str]]) -> list[list[V] | None]:
        union = list(dict.fromkeys(key for keys in requests for key in keys))
        values = await self._read(union)
        if values is None:
            return [None] * len(requests)
        found = dict(zip(union, values, strict=True))
        return [[found[key] for key in keys] for keys in requests]
