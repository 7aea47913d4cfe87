"""Concurrent reads share one round trip, and none is answered from a read sent before it
asked."""

import asyncio

import pytest

from db.batching import Batched, Coalesced


class Store:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.reads: list[list[str]] = []
        self.fail: Exception | None = None
        self.unknown = False

    async def read(self, keys: list[str]) -> list[int | None] | None:
        self.reads.append(keys)
        snapshot = [self.values.get(key) for key in keys]  # as the server answers on receipt
        await asyncio.sleep(0.01)
        if self.fail is not None:
            raise self.fail
        return None if self.unknown else snapshot


async def test_callers_of_one_turn_share_one_read_of_their_keys() -> None:
    store = Store()
    store.values = {f"k{i}": i for i in range(30)}
    reads = Coalesced(store.read)
    wanted = [[f"k{i}", f"k{i + 1}", "absent"] for i in range(20)]
    found = await asyncio.gather(*(reads.read(keys) for keys in wanted))
    assert found == [[i, i + 1, None] for i in range(20)]
    assert len(store.reads) == 1
    assert sorted(store.reads[0]) == sorted({key for keys in wanted for key in keys})


async def test_a_caller_after_a_write_is_not_answered_by_an_earlier_read() -> None:
    store = Store()
    store.values = {"gen": 1}
    reads = Coalesced(store.read)
    early = asyncio.ensure_future(reads.read(["gen"]))
    await asyncio.sleep(0.001)  # the first read has left; a write lands now
    store.values["gen"] = 2
    late = await reads.read(["gen"])
    assert await early == [1]
    assert late == [2]
    assert len(store.reads) == 2


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    store = Store()
    store.values = {"a": 1, "b": 2}
    reads = Coalesced(store.read)
    leaving = asyncio.ensure_future(reads.read(["a"]))
    staying = asyncio.ensure_future(reads.read(["b"]))
    await asyncio.sleep(0.001)
    leaving.cancel()
    assert await staying == [2]
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_a_failed_or_unknowing_read_reaches_every_caller() -> None:
    store = Store()
    reads = Coalesced(store.read)
    store.fail = ConnectionError("gone")
    outcomes = await asyncio.gather(reads.read(["a"]), reads.read(["b"]), return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [ConnectionError, ConnectionError]
    store.fail, store.unknown = None, True
    assert list(await asyncio.gather(reads.read(["a"]), reads.read(["b"]))) == [None, None]
    assert len(store.reads) == 2


async def test_a_batch_cancelled_before_it_left_cancels_its_callers_and_the_next_one_leaves() -> (
    None
):
    """At shutdown the loop may cancel the batch's task before its first step: its callers are
    cancelled rather than left waiting, and the next call is sent by a new batch."""
    store = Store()
    store.values = {"a": 1}
    reads = Coalesced(store.read)
    stranded = asyncio.ensure_future(reads.read(["a"]))
    await asyncio.sleep(0)  # the caller has queued; the batch's task has not run yet
    for task in list(reads._batched._sending):
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(stranded, 1)
    assert await asyncio.wait_for(reads.read(["a"]), 1) == [1]


async def test_a_send_that_answers_too_few_fails_every_caller() -> None:
    async def short(requests: list[int]) -> list[int]:
        return [0]

    batched: Batched[int, int] = Batched(short)
    outcomes = await asyncio.wait_for(
        asyncio.gather(batched(1), batched(2), return_exceptions=True), 1
    )
    assert [type(outcome) for outcome in outcomes] == [ValueError, ValueError]
