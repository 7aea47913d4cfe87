"""The event hub in one process: bounded queues, overflow, replay then live without gaps."""

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from db.rows import ChangeRow
from graph.errors import SubscriberTooSlow
from graph.subscriptions.feed import follow
from graph.subscriptions.hub import EventHub
from workers.events import MemoryEventStream

pytestmark = pytest.mark.asyncio(loop_scope="session")


def change(sequence: int, entity_type: str = "Product", category: int = 1) -> ChangeRow:
    now = datetime.now(UTC)
    return ChangeRow(
        sequence, entity_type, sequence, "UPDATED", ["name"], [category], "t", now, None
    )


def hub(stream: MemoryEventStream | None = None, queue_size: int = 100) -> EventHub:
    return EventHub(stream or MemoryEventStream(), lambda viewer: None, queue_size)


async def test_a_subscriber_that_never_reads_is_closed_while_others_get_every_event() -> None:
    events = hub(queue_size=100)
    stuck = events.subscribe("Product", lambda row: True)
    reader = events.subscribe("Product", lambda row: True)
    received: list[int] = []
    deepest = 0

    async def read() -> None:
        while len(received) < 10_000:
            received.append((await reader.next()).row.id)

    reading = asyncio.create_task(read())
    for start in range(1, 10_001, 50):
        events.dispatch([change(n) for n in range(start, start + 50)])
        deepest = max(deepest, stuck.queue.qsize(), reader.queue.qsize())
        await asyncio.sleep(0)
    await asyncio.wait_for(reading, 10)

    assert received == list(range(1, 10_001))
    assert deepest <= 100  # no queue ever held more than its bound
    assert stuck.overflowed
    assert stuck.queue.qsize() == 1  # only the marker is left
    with pytest.raises(SubscriberTooSlow):
        await stuck.next()
    assert events.stats() == {
        "position": 10_000,
        "subscribers": 1,
        "queued": 0,
        "delivered": 10_000 + 100,
        "overflows": 1,
    }


async def test_events_go_only_to_subscribers_they_match() -> None:
    events = hub()
    shoes = events.subscribe("Product", lambda row: 7 in row.category_ids)
    categories = events.subscribe("Category", lambda row: True)
    events.dispatch([change(1, category=7), change(2, category=8), change(3, "Category")])
    assert (await shoes.next()).row.id == 1
    assert shoes.queue.empty()
    assert (await categories.next()).row.id == 3


async def test_a_resumed_subscriber_gets_what_it_missed_then_live_ones_once_each() -> None:
    stream = MemoryEventStream()
    await stream.publish([change(n) for n in range(1, 51)])
    events = hub(stream)
    events.position = 50
    sessions = cast(Any, None)  # the stream still holds everything: no table read
    deliveries = follow(events, sessions, "Product", lambda row: row.id % 2 == 0, after=20)
    got = [(await anext(deliveries)).row.id for _ in range(15)]
    assert got == list(range(22, 51, 2))
    # Live events that overlap the replay (a relay published them meanwhile) come once.
    events.dispatch([change(n) for n in range(45, 61)])
    got = [(await anext(deliveries)).row.id for _ in range(5)]
    assert got == [52, 54, 56, 58, 60]
    await deliveries.aclose()
    assert events.stats()["subscribers"] == 0


async def test_the_in_process_stream_wakes_a_blocked_reader() -> None:
    stream = MemoryEventStream()
    waiting = asyncio.create_task(stream.read(0, 10, block_seconds=5))
    await asyncio.sleep(0.01)
    await stream.publish([change(1), change(2)])
    assert [row.id for row in await asyncio.wait_for(waiting, 1)] == [1, 2]
    assert await stream.read(2, 10, block_seconds=0.01) == []
