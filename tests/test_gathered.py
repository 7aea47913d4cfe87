"""graph.execution.run.gathered: what asyncio.gather(..., return_exceptions=True) gives, with no
task for a coroutine that ends at its first step (a level's batches whose rows were primed)."""

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from graph.execution.run import gathered

Made = Callable[[], list[Coroutine[Any, None, Any]]]


@contextmanager
def counting_tasks() -> Iterator[list[int]]:
    loop = asyncio.get_running_loop()
    before = loop.get_task_factory()
    made = [0]

    def factory(loop: asyncio.AbstractEventLoop, coroutine: Any, **kwargs: Any) -> Any:
        made[0] += 1
        return asyncio.Task(coroutine, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield made
    finally:
        loop.set_task_factory(before)


def _mixed(log: list[str]) -> Made:
    """Coroutines that end at once, fail at once, wait for a value, wait for a failure, and
    give up the loop twice; each new set has its own futures."""

    def make() -> list[Coroutine[Any, None, Any]]:
        loop = asyncio.get_running_loop()
        value: asyncio.Future[str] = loop.create_future()
        failure: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, value.set_result, "later")
        loop.call_later(0.02, failure.set_exception, KeyError("gone"))

        async def at_once() -> int:
            log.append("at once")
            return 1

        async def fails_at_once() -> int:
            log.append("fails at once")
            raise ValueError("bad")

        async def waits(future: asyncio.Future[str], name: str) -> str:
            log.append(name)
            found = await future
            log.append(f"{name} resumed")
            return found

        async def yields_twice() -> str:
            log.append("yields")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return "yielded"

        return [
            at_once(),
            fails_at_once(),
            waits(value, "value"),
            waits(failure, "failure"),
            yields_twice(),
        ]

    return make


def _outcomes(results: list[Any]) -> list[Any]:
    return [repr(r) if isinstance(r, BaseException) else r for r in results]


async def test_it_answers_as_gather_does_with_first_steps_in_order() -> None:
    ours: list[str] = []
    theirs: list[str] = []
    found = await gathered(_mixed(ours)())
    expected = await asyncio.gather(*_mixed(theirs)(), return_exceptions=True)
    assert _outcomes(found) == _outcomes(expected)
    assert _outcomes(found) == [1, "ValueError('bad')", "later", "KeyError('gone')", "yielded"]
    # Every first step before any coroutine is resumed, so that their loads share a batch.
    assert ours[:5] == ["at once", "fails at once", "value", "failure", "yields"]
    assert sorted(ours) == sorted(theirs)


async def test_no_task_for_coroutines_that_end_at_their_first_step() -> None:
    async def primed(value: int) -> int:
        return value

    async def waiting() -> int:
        await asyncio.sleep(0)
        return 3

    with counting_tasks() as made:
        assert await gathered([primed(1), primed(2)]) == [1, 2]
        assert made[0] == 0
        assert await gathered([primed(1), waiting(), primed(2)]) == [1, 3, 2]
        assert made[0] == 1  # the waiting one's
    with counting_tasks() as made:
        await asyncio.gather(primed(1), primed(2))
        assert made[0] == 2  # what it replaces


async def _cancel_gathering(
    batch: Coroutine[Any, None, Any], first: Callable[[], None] = lambda: None
) -> None:
    """`gathered` of a primed batch and `batch`, cancelled once `batch` waits (after `first`)."""

    async def primed() -> int:
        return 1

    caller = asyncio.create_task(gathered([primed(), batch]))
    await asyncio.sleep(0.01)
    first()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_cancelling_the_caller_cancels_what_a_resumed_coroutine_awaits() -> None:
    """As with gather: the future the batch waits on is cancelled, the batch meets the
    cancellation where it awaits (its cleanup runs), and the caller ends cancelled."""
    loop = asyncio.get_running_loop()
    forever: asyncio.Future[None] = loop.create_future()
    seen: list[str] = []

    async def batch() -> None:
        try:
            await forever
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("cleaned up")

    await _cancel_gathering(batch())
    assert forever.cancelled()
    assert seen == ["cancelled", "cleaned up"]


async def test_a_cancellation_that_comes_between_steps_is_thrown_into_the_coroutine() -> None:
    """The future it waited on is done already when the caller is cancelled: the coroutine is
    resumed with the cancellation (Task.cancel's second way) and may clean up."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[int] = loop.create_future()
    seen: list[str] = []

    async def batch() -> int:
        try:
            value = await ready
            seen.append("resumed")
            await asyncio.sleep(3600)
            return value
        finally:
            seen.append("cleaned up")

    # Cancelled before the batch's task has run its next step.
    await _cancel_gathering(batch(), lambda: ready.set_result(5))
    assert seen == ["cleaned up"]  # met at the await it was suspended in
