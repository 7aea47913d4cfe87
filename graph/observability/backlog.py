"""Figures that live in the database and the event stream, read for /metrics at most once per
`max_age`: the relay's lag, the outbox, and job outcomes. Job outcomes are counted from the jobs
table, which every worker process writes, so one gateway reports them for all workers without a
metrics endpoint per worker process."""

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from db.engine import Sessions
from db.jobs import JobTally, job_tallies
from db.outbox import pending_count
from db.queries.changes import latest_change_id
from workers.events import EventStream

log = logging.getLogger(__name__)
T = TypeVar("T")
# A scrape waits no longer than this for the database or Redis; what did not come is left out.
READ_TIMEOUT_SECONDS = 1.0


@dataclass(slots=True)
class Figures:
    """None: could not be read at the last refresh (the series is then left out)."""

    newest_change: int | None = None
    stream_last: int | None = None
    outbox_pending: int | None = None
    jobs: list[JobTally] | None = None


@dataclass(slots=True)
class Backlog:
    sessions: Sessions
    events: EventStream
    max_age: float
    figures: Figures = field(default_factory=Figures)
    _read_at: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self.max_age:
                return
            self._read_at = now
            figures = await _within(self._from_database()) or Figures()
            figures.stream_last = await _within(self.events.last_sequence())
            self.figures = figures

    async def _from_database(self) -> Figures:
        async with self.sessions() as session:
            return Figures(
                newest_change=await latest_change_id(session=session),
                outbox_pending=await pending_count(session=session),
                jobs=await job_tallies(session=session),
            )


async def _within(read: Awaitable[T]) -> T | None:
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            return await read
    except Exception as error:  # the database or Redis is away: its series are left out
        log.debug("a /metrics figure could not be read: %r", error)
        return None
