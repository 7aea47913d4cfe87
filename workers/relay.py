"""The relay: hands committed outbox rows to the dispatcher, at least once, and marks them sent;
and sweeps jobs whose lease ran out back into the outbox.

Safe to run many at once: each batch is claimed with FOR UPDATE SKIP LOCKED. While the broker
is down, rows wait with a growing delay; a hung broker costs at most the broker timeout.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from db import outbox
from db.availability import is_unavailable
from db.models import utcnow
from db.outage import stop_if_cancelled
from db.writes.unit import writer_lock
from workers.dispatch import Dispatcher
from workers.events import EventStream, publish_committed
from workers.settings import WorkerSettings
from workers.sweeper import sweep_expired_leases

log = logging.getLogger(__name__)
MAX_DELAY_SECONDS = 30.0


class Relay:
    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        dispatcher: Dispatcher,
        settings: WorkerSettings,
        events: EventStream | None = None,
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.settings = settings
        self.events = events
        self.wakeup = asyncio.Event()
        self.failures = 0
        self.failing: dict[str, int] = {}
        self.next_sweep = 0.0

    def wake(self) -> None:
        """Called right after a local commit, so the usual delay is milliseconds, not a poll."""
        self.wakeup.set()

    async def pump(self) -> int:
        """Hand over one batch; returns how many rows were sent."""
        now = utcnow()
        async with writer_lock(self.sessions), self.sessions() as session, session.begin():
            rows = await outbox.claim(
                session=session, limit=self.settings.relay_batch_size, now=now
            )
            sent: list[int] = []
            for index, row in enumerate(rows):
                try:
                    await self.dispatcher.send(row.task, row.args, row.idempotency_key)
                except Exception as error:
                    self.failures += 1
                    delay = min(0.5 * 2 ** min(self.failures, 10), MAX_DELAY_SECONDS)
                    if self.failures == 1:
                        log.warning("broker unavailable, outbox rows wait: %r", error)
                    await outbox.defer(
                        session=session,
                        rows=rows[index:],
                        error=repr(error),
                        until=now + timedelta(seconds=delay),
                    )
                    break
                sent.append(row.id)
            else:
                if self.failures:
                    log.warning("broker is back after %d failed attempts", self.failures)
                self.failures = 0
            await outbox.mark_sent(session=session, ids=sent, now=utcnow())
        return len(sent)

    async def publish_changes(self) -> int:
        """Append committed change rows the event stream does not hold yet; returns how many."""
        if self.events is None:
            return 0
        return await publish_committed(self.sessions, self.events, self.settings.relay_batch_size)

    async def sweep_leases(self) -> int:
        """At most once a poll interval: every wake-up (each local commit) need not sweep."""
        if time.monotonic() < self.next_sweep:
            return 0
        self.next_sweep = time.monotonic() + self.settings.relay_poll_seconds
        return await sweep_expired_leases(self.sessions, self.settings)

    async def _attempt(self, step: Callable[[], Awaitable[int]]) -> int:
        """Runs one step; failing, logs the first failure in a row in full, then only once
        it works again (an outage is not a traceback a second)."""
        name = step.__name__
        try:
            done = await step()
        except Exception as error:  # the database, the broker or the stream is down: try later
            stop_if_cancelled(error)
            failed = self.failing.get(name, 0)
            self.failing[name] = failed + 1
            if failed:
                return 0
            if is_unavailable(error):  # an outage, not a bug: no traceback
                log.warning("relay step %s failed, the database is unavailable; retrying", name)
            else:
                log.exception("relay step %s failed; retrying quietly", name)
            return 0
        if self.failing.pop(name, 0):
            log.warning("relay step %s works again", name)
        return done

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            # The sweep first, so the jobs it queues again go out in this same round; then
            # changes, since subscribers wait on them. Each step fails on its own (the stream's
            # Redis may be down while the broker is not, or the other way round).
            await self._attempt(self.sweep_leases)
            published = await self._attempt(self.publish_changes)
            sent = max(published, await self._attempt(self.pump))
            if sent == self.settings.relay_batch_size:
                continue
            self.wakeup.clear()
            # Not wait_for: on Python 3.11 it swallows a cancel that lands as a wake() completes
            # the wait, and the relay then outlives the app's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.relay_poll_seconds):
                    await self.wakeup.wait()
