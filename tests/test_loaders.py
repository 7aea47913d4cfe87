"""The loader base: one batch for what a turn asks, a caller's cancellation cancels nobody
else's value, and a failed batch reaches every caller (and is never reported unretrieved)."""

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def nothing_unretrieved() -> AsyncIterator[None]:
    """Fails if the loop reports an exception never retrieved, once the block's objects are
    collected (the block must drop its references)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        yield
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c for c in reported if "never retrieved" in c.get("message", "")] == []


async def test_a_failed_batch_reaches_every_caller_and_is_retrieved() -> None:
    async with nothing_unretrieved():
        loader = Squares()
        loader.fail = ConnectionError("database gone")
        loader.release.set()
        outcomes = await asyncio.gather(
            loader.load_many([1, 2]), loader.load_many([3]), return_exceptions=True
        )
        assert [type(outcome) for outcome in outcomes] == [ConnectionError, ConnectionError]
        del loader, outcomes


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


class Lookups(SessionLoader[int, int]):
    """Squares, except that key 0 is an error of its own and a negative key fails the batch."""

    def __init__(self) -> None:
        super().__init__(sessions=None)  # type: ignore[arg-type]
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        self.batches.append(list(keys))
        await self.release.wait()
        if any(key < 0 for key in keys):
            raise ConnectionError("database gone")
        return [ValueError("no such row") if key == 0 else key * key for key in keys]


async def test_fetch_loads_in_the_callers_task_and_remembers_as_load_does() -> None:
    loader = Lookups()
    tasks = len(asyncio.all_tasks())
    fetching = loader.fetch(3)
    assert await fetching == 9
    assert len(asyncio.all_tasks()) == tasks  # no batch task
    assert await loader.load(3) == 9
    assert loader.primed([3]) == [9]
    assert loader.batches == [[3]]
    with pytest.raises(ValueError, match="no such row"):
        await loader.fetch(0)
    with pytest.raises(ValueError, match="no such row"):  # an error of its own is remembered
        await loader.load(0)
    assert loader.batches == [[3], [0]]
    assert loader.primed([3, 0]) is None


async def test_a_failed_fetch_is_not_remembered_and_nothing_is_reported_unretrieved() -> None:
    async with nothing_unretrieved():
        loader = Lookups()
        for _ in range(2):
            with pytest.raises(ConnectionError):
                await loader.fetch(-1)
        with pytest.raises(ValueError, match="no such row"):
            await loader.fetch(0)
        assert loader.batches == [[-1], [-1], [0]]
        del loader


async def test_a_cancelled_fetch_leaves_nothing_half_loaded() -> None:
    loader = Lookups()
    loader.release.clear()
    fetching = asyncio.ensure_future(loader.fetch(2))
    await asyncio.sleep(0.01)  # its batch is running, in its task
    fetching.cancel()
    with pytest.raises(asyncio.CancelledError):
        await fetching
    loader.release.set()
    assert await asyncio.wait_for(loader.load(2), 1) == 4  # loaded anew, not hung
    assert loader.batches == [[2], [2]]


async def test_fetch_shares_a_key_another_caller_is_loading_without_cancelling_it() -> None:
    loader = Lookups()
    loader.release.clear()
    loading = asyncio.ensure_future(loader.load(5))
    await asyncio.sleep(0.01)
    fetching = asyncio.ensure_future(loader.fetch(5))
    await asyncio.sleep(0)
    fetching.cancel()
    loader.release.set()
    assert await loading == 25
    assert loader.batches == [[5]]
    assert loader.primed([5]) == [25]
    assert loader.primed([5, 6]) is None
