"""Whole responses, kept in this process: a hit costs a dictionary lookup and a write of bytes.

Key: the document's text, the operation, the variables (canonical JSON) and the viewer's scope
(public, or a staff role). Value: the response's `data` as JSON and its cost. Tags: the
generation keys every entity and list it was read from (db.cache.tags). A write drops every
response tagged with a key it bumps: this process's own writes as they commit, every other
process's as the event stream brings their change rows. A response read while a write to one of
its tags committed is not kept (the purge sequence says so), so a slow reader never stores what
the write had already dropped.

With several processes (a shared Redis cache), the stream brings another process's write a few
milliseconds after it answered; so that the next read anywhere sees it, Redis pushes every
generation bump to every process (db.cache.watch), and a hit is served as it is while that watch
vouches for it. When it cannot (it is reconnecting, Redis has not answered its pings), a hit is
checked against the generations in Redis, one MGET of its tags, compared with the values they had
before the response was read. One process alone needs neither: its writes drop at commit.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from db.cache.aside import Cache
from db.cache.invalidation import Changed, stale_keys


@dataclass(frozen=True, slots=True)
class CachedResponse:
    data: bytes
    requested: int
    actual: int
    tags: frozenset[str]
    # Each tag's generation before the read; checked on a hit when processes share Redis.
    stamps: tuple[tuple[str, bytes | None], ...] = ()


Key = tuple[Hashable, ...]


class Watch(Protocol):
    def vouches(self) -> bool:
        """Whether every bump of a generation key is known here (db.cache.watch)."""


class ResponseCache:
    def __init__(
        self,
        max_entries: int = 10_000,
        max_bytes: int = 64_000_000,
        shared: "Cache | None" = None,
    ) -> None:
        self.max_entries = max_entries
        # The shared cache whose generations a hit is checked against; None: one process.
        self.shared = shared
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.dropped = 0
        self._entries: OrderedDict[Key, CachedResponse] = OrderedDict()
        self._by_tag: dict[str, set[Key]] = {}
        self._bytes = 0
        # Purges in order; the last one of each tag, remembered for the readers in flight.
        self._sequence = 0
        self._purged_at: OrderedDict[str, int] = OrderedDict()
        self._forgotten_before = 0
        self._lock = threading.Lock()
        # Set once the shared cache's generations are pushed here (db.cache.watch).
        self.watch: Watch | None = None

    def get(self, key: Key) -> CachedResponse | None:
        # Under the lock: in-process jobs purge from their own thread.
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return entry

    async def fresh(self, key: Key, entry: CachedResponse) -> bool:
        """Whether a hit may be served: always with one process; with several, if no tag's
        generation has moved since it was read (a moved one drops the entry)."""
        if self.shared is None:
            return True
        watch = self.watch
        if watch is not None and watch.vouches():
            # What the watch just read may have dropped this very entry.
            if key in self._entries:
                return True
            self.hits -= 1
            self.misses += 1
            return False
        now = await self.shared.current([tag for tag, _ in entry.stamps])
        if now is not None and now == [value for _, value in entry.stamps]:
            return True
        if now is not None:
            with self._lock:
                self._drop(key)
        self.hits -= 1
        self.misses += 1
        return False

    def sequence(self) -> int:
        """Where a reader starts: `put` compares it with the purges of its tags."""
        return self._sequence

    def put(self, key: Key, entry: CachedResponse, started: int) -> bool:
        with self._lock:
            if started < self._forgotten_before:
                return False
            # A purge numbered `started` came before the reader began (it read the sequence after
            # the purge counted itself), and purges follow commits: what it read is current.
            # Refusing that one too kept a written entity's responses out of the cache until the
            # next write anywhere.
            if any(self._purged_at.get(tag, -1) > started for tag in entry.tags):
                return False
            self._drop(key)
            self._entries[key] = entry
            self._bytes += len(entry.data)
            for tag in entry.tags:
                self._by_tag.setdefault(tag, set()).add(key)
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                self._drop(next(iter(self._entries)))
            return True

    def purge(self, tags: Iterable[str]) -> None:
        with self._lock:
            self._sequence += 1
            for tag in tags:
                self._purged_at[tag] = self._sequence
                self._purged_at.move_to_end(tag)
                for key in self._by_tag.pop(tag, ()):
                    self._drop(key)
            while len(self._purged_at) > 4 * self.max_entries:
                _, at = self._purged_at.popitem(last=False)
                self._forgotten_before = max(self._forgotten_before, at + 1)

    def clear(self) -> None:
        """Forgets every response, and refuses those being read now (they may be older)."""
        with self._lock:
            self._sequence += 1
            self._forgotten_before = self._sequence
            self.dropped += len(self._entries)
            self._entries.clear()
            self._by_tag.clear()
            self._bytes = 0

    def purge_changes(self, records: Iterable[Changed]) -> None:
        self.purge(stale_keys(records)[1])

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.dropped += 1
        self._bytes -= len(entry.data)
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def stats(self) -> dict[str, int]:
        return {
            "entries": len(self._entries),
            "bytes": self._bytes,
            "hits": self.hits,
            "misses": self.misses,
            "dropped": self.dropped,
        }
