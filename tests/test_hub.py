"""The event hub in one process: bounded queues, overflow, replay then live without gaps."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.engine import create_engine, session_factory
from db.models import ChangeKind
from db.rows import ChangeRow
from db.writes.unit import write_transaction
from graph.errors import EventsUnavailable, SubscriberTooSlow
from graph.subscriptions import feed
from graph.subscriptions.feed import follow
from graph.subscriptions.hub import EventHub
from tests.conftest import seeded
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
        "dropped": 100 + 1,  # its full queue, and the event that did not fit
        "executions": 0,
        "sharedResults": 0,
    }


async def test_events_go_only_to_subscribers_they_match() -> None:
    events = hub()
    shoes = events.subscribe("Product", lambda row: 7 in row.category_ids)
    categories = events.subscribe("Category", lambda row: True)
    events.dispatch([change(1, category=7), change(2, category=8), change(3, "Category")])
    assert (await shoes.next()).row.id == 1
    assert shoes.queue.empty()
    assert (await categories.next()).row.id == 3


async def test_an_event_is_offered_only_to_subscribers_watching_it() -> None:
    """1,000 subscribers each watching one product, 10 watching a category: an event asks the
    matchers of those it can concern, not all of them."""
    events = hub()
    asked: list[int] = []

    def asking(key: int) -> Callable[[ChangeRow], bool]:
        def matches(row: ChangeRow) -> bool:
            asked.append(key)
            return True

        return matches

    for product in range(1, 1_001):
        events.subscribe("Product", asking(product), ("entity", product))
    shelf = [events.subscribe("Product", asking(-c), ("category", c)) for c in range(10)]
    everything = events.subscribe("Product", asking(0))
    events.dispatch([change(500, category=3)])
    assert sorted(asked) == [-3, 0, 500]
    assert (await shelf[3].next()).row.id == 500
    assert (await everything.next()).row.id == 500
    assert all(s.queue.empty() for n, s in enumerate(shelf) if n != 3)
    assert events.stats()["subscribers"] == 1_011


@pytest.fixture
async def change_log(tmp_path: Path) -> AsyncIterator[async_sessionmaker[Any]]:
    """A SQLite change log holding changes 1..50 (the source of truth replays fall back to)."""
    settings = await seeded(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}", 0)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    async with write_transaction(sessions, "test") as tx:
        for n in range(1, 51):
            tx.record("Product", n, ChangeKind.UPDATED, ("name",), (1,))
    yield sessions
    await engine.dispose()


@pytest.mark.parametrize(
    "held",
    [range(1, 51), range(1, 41), range(30, 51), range(0)],
    ids=["stream holds all", "stream lags the log", "stream trimmed", "stream lost"],
)
async def test_a_resumed_subscriber_gets_what_it_missed_then_live_ones_once_each(
    change_log: async_sessionmaker[Any], held: range
) -> None:
    stream = MemoryEventStream()
    await stream.publish([change(n) for n in held])
    events = hub(stream)
    events.position = 50
    events.started.set()
    deliveries = follow(events, change_log, "Product", lambda row: row.id % 2 == 0, after=20)
    got = [(await anext(deliveries)).row.id for _ in range(15)]
    assert got == list(range(22, 51, 2))
    # Live events that overlap the replay (a relay published them meanwhile) come once.
    events.dispatch([change(n) for n in range(45, 61)])
    got = [(await anext(deliveries)).row.id for _ in range(5)]
    assert got == [52, 54, 56, 58, 60]
    await deliveries.aclose()
    assert events.stats()["subscribers"] == 0


async def test_the_hub_starts_at_the_end_of_the_log_when_the_stream_is_behind() -> None:
    """A new or lost stream is refilled with history; live subscribers must not get it."""

    async def newest() -> int:
        return 500

    events = EventHub(MemoryEventStream(), lambda viewer: None, 100, newest)
    reading = asyncio.create_task(events.run(block_seconds=0.01))
    await events.ready(1)
    assert events.position == 500
    subscriber = events.subscribe("Product", lambda row: True)
    await events.stream.publish([change(n) for n in range(400, 503)])
    assert (await asyncio.wait_for(subscriber.next(), 1)).row.id == 501
    reading.cancel()


async def test_subscribing_waits_for_the_reader_to_know_where_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feed, "READY_TIMEOUT_SECONDS", 0.05)
    events = hub()
    deliveries = follow(events, cast(Any, None), "Product", lambda row: True)
    with pytest.raises(EventsUnavailable):
        await asyncio.wait_for(anext(deliveries), 5)


async def test_the_in_process_stream_wakes_a_blocked_reader() -> None:
    stream = MemoryEventStream()
    waiting = asyncio.create_task(stream.read(0, 10, block_seconds=5))
    await asyncio.sleep(0.01)
    await stream.publish([change(1), change(2)])
    assert [row.id for row in await asyncio.wait_for(waiting, 1)] == [1, 2]
    assert await stream.read(2, 10, block_seconds=0.01) == []
