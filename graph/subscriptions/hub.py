"""The hub: ONE reader of the event stream per process, and a bounded queue per subscriber.

The reader never waits for a subscriber: it offers each event to every matching queue without
blocking. A queue that is full means its subscriber fell behind; the hub drops its queue,
unregisters it and tells it why, so one slow client costs a bounded amount of memory and never
delays the others.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from db.outage import Outage, stop_if_cancelled
from db.rows import ChangeRow
from graph.errors import EventsUnavailable, SubscriberTooSlow
from graph.viewer import Viewer
from workers.events import EventStream

log = logging.getLogger(__name__)
READ_COUNT = 500
V = TypeVar("V")

Matcher = Callable[[ChangeRow], bool]
# What a subscriber watches, so an event is offered only to the subscribers it can concern:
# one entity ("entity", id), a category's subtree ("category", id), or (None) every one.
Watch = tuple[str, int] | None
# Builds the loaders that one batch of events shares, per viewer scope.
LoadersFactory = Callable[[Viewer], Any]


@dataclass(slots=True)
class Batch:
    """Events read together: their subscribers on this process share one set of loaders per
    viewer scope, so the SQL an event costs does not grow with the number of subscribers."""

    make_loaders: LoadersFactory
    # The hub's counters: how many results were computed, and how many reused.
    counts: dict[str, int] = field(default_factory=dict)
    loaders: dict[bool, Any] = field(default_factory=dict)
    # Results that subscribers with the same operation share, per event, and the event
    # objects (GraphQL root values, immutable). Weakly held: a subscriber lagging behind keeps
    # its batches alive, but not the results of every other operation in them.
    results: "weakref.WeakValueDictionary[Hashable, asyncio.Future[Any]]" = field(
        default_factory=weakref.WeakValueDictionary
    )
    events: "weakref.WeakValueDictionary[Hashable, Any]" = field(
        default_factory=weakref.WeakValueDictionary
    )

    def loaders_for(self, viewer: Viewer) -> Any:
        return _get_or_make(self.loaders, viewer.is_staff, lambda: self.make_loaders(viewer))[0]

    def event(self, key: Hashable, make: Callable[[], Any]) -> Any:
        return _get_or_make(self.events, key, make)[0]

    def shared(self, key: Hashable, compute: Callable[[], "asyncio.Future[Any]"]) -> Any:
        """The result stored under `key`, computed by the first subscriber that asks."""
        found, made = _get_or_make(self.results, key, compute)
        counter = "executions" if made else "sharedResults"
        self.counts[counter] = self.counts.get(counter, 0) + 1
        return found


def _get_or_make(store: MutableMapping[Any, V], key: Any, make: Callable[[], V]) -> tuple[V, bool]:
    """The value under `key`, made and stored if absent; and whether it was made now."""
    found = store.get(key)
    if found is not None:
        return found, False
    found = store[key] = make()
    return found, True


@dataclass(frozen=True, slots=True)
class Delivery:
    row: ChangeRow
    batch: Batch


class _Overflowed:
    """Put in a queue in place of the events it could not hold."""


OVERFLOWED = _Overflowed()


class Subscriber:
    def __init__(
        self, entity_type: str, matches: Matcher, queue_size: int, watch: Watch = None
    ) -> None:
        self.entity_type = entity_type
        self.matches = matches
        self.watch = watch
        self.queue: asyncio.Queue[Delivery | _Overflowed] = asyncio.Queue(queue_size)
        self.overflowed = False

    def offer(self, delivery: Delivery) -> bool:
        """False when the queue is full: the caller then closes this subscriber."""
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            return False
        return True

    def overflow(self) -> None:
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(OVERFLOWED)

    async def next(self) -> Delivery:
        item = await self.queue.get()
        if isinstance(item, _Overflowed):
            raise SubscriberTooSlow(
                "This subscription fell too far behind the events and was closed; "
                "subscribe again with `after:` the last cursor you received."
            )
        return item


class EventHub:
    def __init__(
        self,
        stream: EventStream,
        make_loaders: LoadersFactory,
        queue_size: int = 1_000,
        newest_change: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        """`newest_change`: the change log's newest sequence, where the hub starts when the
        stream is behind the log (new, lost, or being refilled): older changes are history,
        which only subscribers resuming with a cursor ask for, and get from the log."""
        self.stream = stream
        self.make_loaders = make_loaders
        self.queue_size = queue_size
        self.newest_change = newest_change
        self.position = 0
        # By (entity type, watch): an event looks up its entity, its categories and "all",
        # never every subscriber.
        self.subscribers: dict[tuple[str, Watch], set[Subscriber]] = {}
        self.delivered = 0
        self.overflows = 0
        # Events lost with the subscribers that overflowed: the one that did not fit, and
        # those still queued for them.
        self.dropped = 0
        self.counts: dict[str, int] = {"executions": 0, "sharedResults": 0}
        self.started = asyncio.Event()
        # Told when the stream brings changes, and when a read of it fails (what else goes to
        # Redis may have failed unseen meanwhile): the cache's change-log follower listens.
        self.on_changes: list[Callable[[], None]] = []
        # Given the change rows themselves, before subscribers see them: cached responses are
        # dropped first, so a subscriber that reads on an event reads the change.
        self.on_rows: list[Callable[[list[ChangeRow]], None]] = []
        self.on_failure: list[Callable[[], None]] = []

    def batch(self) -> Batch:
        return Batch(self.make_loaders, self.counts)

    def subscribe(self, entity_type: str, matches: Matcher, watch: Watch = None) -> Subscriber:
        """`matches` decides; `watch` only narrows which events it is asked about."""
        subscriber = Subscriber(entity_type, matches, self.queue_size, watch)
        self.subscribers.setdefault((entity_type, watch), set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        key = (subscriber.entity_type, subscriber.watch)
        group = self.subscribers.get(key)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self.subscribers[key]

    def _candidates(self, row: ChangeRow) -> list[Subscriber]:
        kind, groups = row.entity_type, self.subscribers
        found = [*groups.get((kind, None), ()), *groups.get((kind, ("entity", row.entity_id)), ())]
        for category in row.category_ids:
            found.extend(groups.get((kind, ("category", category)), ()))
        return found

    def stats(self) -> dict[str, int]:
        subscribers = [s for group in self.subscribers.values() for s in group]
        return {
            "position": self.position,
            "subscribers": len(subscribers),
            "queued": sum(s.queue.qsize() for s in subscribers),
            "delivered": self.delivered,
            "overflows": self.overflows,
            "dropped": self.dropped,
            **self.counts,
        }

    def dispatch(self, rows: list[ChangeRow]) -> None:
        batch = self.batch()
        for row in rows:
            delivery = Delivery(row, batch)
            for subscriber in self._candidates(row):
                if subscriber.overflowed or not subscriber.matches(row):
                    continue
                if subscriber.offer(delivery):
                    self.delivered += 1
                    continue
                self.overflows += 1
                self.dropped += 1 + subscriber.queue.qsize()
                self.unsubscribe(subscriber)
                subscriber.overflow()
        self.position = max(self.position, rows[-1].id)

    async def _start(self) -> int:
        position = await self.stream.last_sequence()
        if self.newest_change is not None:
            position = max(position, await self.newest_change())
        return position

    async def ready(self, seconds: float) -> None:
        """Until the reader knows where it starts; a subscriber registered earlier could miss
        the changes committed in between."""
        try:
            async with asyncio.timeout(seconds):
                await self.started.wait()
        except TimeoutError:
            raise EventsUnavailable("The event stream is unavailable; try again shortly.") from None

    async def run(self, block_seconds: float = 1.0) -> None:
        """Follow the stream from its end (earlier changes are replayed per subscriber)."""
        outage = Outage("the event stream is unavailable", log)
        while True:
            stop_if_cancelled()
            try:
                if not self.started.is_set():
                    self.position = await self._start()
                    self.started.set()
                rows = await self.stream.read(self.position, READ_COUNT, block_seconds)
            except Exception as error:
                for distrust in self.on_failure:
                    distrust()
                await asyncio.sleep(outage.failed(error))
                continue
            outage.succeeded()
            if rows:
                for purge in self.on_rows:
                    purge(rows)
                self.dispatch(rows)
                for wake in self.on_changes:
                    wake()
