"""Sessions for reads: a statement whose connection dropped runs once more, on a new one.

A pooled connection can die while idle (a restarted server, a terminated backend) or under a
statement; without this, the first request to draw each dead connection would fail.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.availability import is_dropped_connection

log = logging.getLogger(__name__)


class ReadSession(AsyncSession):
    """Only for sessions that never write, so running a statement twice changes nothing; each
    statement has its own snapshot anyway (engine.read_sessions), so the second run is as good
    as the first. Once only: a connection that drops again means the database is in trouble,
    and the caller hears it. `scalars` goes through `execute`."""

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._once_more_if_dropped(super().execute, args, kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await self._once_more_if_dropped(super().scalar, args, kwargs)

    async def _once_more_if_dropped(
        self,
        run: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        try:
            return await run(*args, **kwargs)
        except Exception as error:
            if not is_dropped_connection(error):
                raise
            log.warning("a read's connection dropped; running it once more on a new one")
        # Ends the session's dead transaction; the next statement checks out a new connection.
        await self.rollback()
        return await run(*args, **kwargs)
