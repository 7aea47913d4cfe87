"""The loader base: one batch for what a turn asks, a caller's cancellation cancels nobody
else's value, and a failed batch reaches every caller (and is never reported unretrieved)."""

import asyncio
import gc
from collections.abc import Sequence
from typing import Any

import pytest

from graph.loaders.base import SessionLoader


class Short(SessionLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(sessions=None)  # type: ignore[arg-type]
        self.calls = 0

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        self.calls += 1
        return list(keys)[: 1 if self.calls == 1 else None]


class Squares(SessionLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(sessions=None)  # type: ignore[arg-type]  # the batches read no database
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return [key * key for key in keys]


async def test_callers_of_one_turn_share_a_batch_and_get_their_keys_in_order() -> None:
    loader = Squares()
    loader.release.set()
    one, two = await asyncio.gather(loader.load_many([3, 1, 3]), loader.load_many([2, 1]))
    assert (one, two) == ([9, 1, 9], [4, 1])
    assert loader.batches == [[3, 1, 2]]
    assert await loader.load_many([]) == []


async def test_a_cancelled_caller_cancels_no_value_another_caller_waits_for() -> None:
    loader = Squares()
    leaving = asyncio.ensure_future(loader.load_many([1, 2]))
    staying = asyncio.ensure_future(loader.load_many([2, 3]))
    await asyncio.sleep(0.01)  # the batch is running
    leaving.cancel()
    await asyncio.sleep(0)
    loader.release.set()
    assert await staying == [4, 9]
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert await loader.load_many([1, 2]) == [1, 4]  # memoised, not cancelled
    assert len(loader.batches) == 1


async def test_a_failed_batch_reaches_every_caller_and_is_retrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        loader = Squares()
        loader.fail = ConnectionError("database gone")
        loader.release.set()
        outcomes = await asyncio.gather(
            loader.load_many([1, 2]), loader.load_many([3]), return_exceptions=True
        )
        assert [type(outcome) for outcome in outcomes] == [ConnectionError, ConnectionError]
        del loader, outcomes
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c for c in reported if "never retrieved" in c.get("message", "")] == []


async def test_a_batch_that_answers_short_fails_every_caller_and_is_not_remembered() -> None:
    loader = Short()
    outcomes = await asyncio.gather(loader.load(1), loader.load(2), return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [TypeError, TypeError]
    assert "answered 1 values for 2 keys" in str(outcomes[0])
    assert await loader.load_many([1, 2]) == [1, 2]
    assert loader.calls == 2


async def test_a_cancelled_batch_cancels_its_callers_and_a_later_load_loads_anew() -> None:
    loader = Squares()
    waiting = asyncio.ensure_future(loader.load_many([1, 2]))
    await asyncio.sleep(0.01)  # the batch is running
    name = "SessionLoader._batch"
    (batch,) = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == name]
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 1)
    loader.release.set()
    assert await loader.load_many([1, 2]) == [1, 4]
    assert loader.batches == [[1, 2], [1, 2]]


async def test_a_batch_cancelled_before_it_starts_cancels_its_callers() -> None:
    loader = Squares()
    loader.release.set()
    waiting = asyncio.ensure_future(loader.load_many([1, 2]))
    await asyncio.sleep(0)  # the dispatch ran: the batch task exists, and has not started
    name = "SessionLoader._batch"
    (batch,) = [t for t in asyncio.all_tasks() if getattr(t.get_coro(), "__qualname__", "") == name]
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 1)
    assert loader.batches == []  # it never ran
    assert await asyncio.wait_for(loader.load_many([1, 2]), 1) == [1, 4]
