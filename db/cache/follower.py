"""Invalidation from the change log: every gateway applies each committed change's invalidation
again, in commit order, after the one its writer made right after commit.

The writer's invalidation keeps reads read-your-writes, but it is one call to Redis: a
partition can lose it, and the stale entry would then live until its TTL. The change log cannot
lose it. The follower reads the log after the last change it applied (woken when the event
stream brings changes, and every `poll_seconds` besides), applies the invalidations, and moves
on only once Redis has taken them. While the cache is suspect (any Redis failure), the follower
notes the newest change in the log and trusts the cache again once it has applied every change
up to that one and Redis answers.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from db.cache.aside import Cache
from db.cache.invalidation import stale_keys
from db.engine import Sessions
from db.outage import Outage, stop_if_cancelled
from db.queries.changes import changes_after, latest_change_id

log = logging.getLogger(__name__)
BATCH = 500


class ChangeFollower:
    def __init__(self, cache: Cache, sessions: Sessions, *, poll_seconds: float = 1.0) -> None:
        self.cache = cache
        cache.followed = True
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self.position: int | None = None
        self.applied = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _newest(self) -> int:
        async with self.sessions() as session:
            return await latest_change_id(session=session)

    async def _apply(self, after: int) -> tuple[int, bool]:
        """(the last change applied, whether every invalidation reached the cache)."""
        position = after
        while True:
            async with self.sessions() as session:
                rows: Sequence[Any] = await changes_after(
                    session=session, after=position, limit=BATCH
                )
            if not rows:
                return position, True
            before = self.cache.distrusts
            await self.cache.invalidate(*stale_keys(rows))
            if self.cache.distrusts != before:
                return position, False
            position = rows[-1].id
            self.applied += len(rows)
            if len(rows) < BATCH:
                return position, True

    async def step(self) -> None:
        """Applies what the log holds beyond the position; trusts a suspect cache once caught up."""
        if self.position is None:
            # Changes before this process started were invalidated by their writers or by the
            # followers running then; their entries expire by TTL in any case.
            self.position = await self._newest()
        distrusts, suspect = self.cache.distrusts, self.cache.suspect
        target = await self._newest() if suspect else 0
        self.position, complete = await self._apply(self.position)
        if suspect and complete and self.position >= target and await self.cache.probe():
            self.cache.trust(distrusts)

    async def run(self) -> None:
        outage = Outage("cannot read the change log to follow it", log)
        while True:
            stop_if_cancelled()
            try:
                await self.step()
            except Exception as error:  # the database is away: try again, never give up
                await asyncio.sleep(outage.failed(error))
                continue
            outage.succeeded()
            self._wake.clear()
            # Faster while suspect: reads go to the database until this catches up.
            wait = self.poll_seconds / 4 if self.cache.suspect else self.poll_seconds
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass
