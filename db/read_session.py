"""Connections for reads: a pooled connection, no Session, and a statement whose connection
dropped runs once more on a new one.

A Session's unit of work, identity map and transaction bookkeeping cost more CPU than the one
statement a loader batch runs (measured ~30% of a product lookup), and reads need none of it.
A pooled connection can die while idle (a restarted server, a terminated backend) or under a
statement; without the retry, the first request to draw each dead connection would fail.
"""

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.availability import is_dropped_connection

log = logging.getLogger(__name__)


class ReadConnection:
    """Only for reads, so running a statement twice changes nothing; each statement has its own
    snapshot anyway (engine.read_sessions), so the second run is as good as the first. Once only:
    a connection that drops again means the database is in trouble, and the caller hears it. It
    offers what the query functions use of a session: `execute`, `scalar`, `connection`,
    `get_bind`."""

    __slots__ = ("engine", "opened")

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.opened: AsyncConnection | None = None

    async def __aenter__(self) -> "ReadConnection":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.opened is not None:
            connection, self.opened = self.opened, None
            await connection.close()

    def get_bind(self) -> AsyncEngine:
        return self.engine

    async def connection(self) -> AsyncConnection:
        """The connection statements run on, as `AsyncSession.connection()` gives it."""
        if self.opened is None:
            self.opened = await self.engine.connect()
        return self.opened

    async def execute(
        self, statement: Any, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        opened = await self.connection()
        try:
            result: CursorResult[Any] = await opened.execute(statement, parameters)
            return result
        except Exception as error:
            if not is_dropped_connection(error):
                raise
            log.warning("a read's connection dropped; running it once more on a new one")
        self.opened = None
        try:
            await opened.invalidate()
            await opened.close()
        except Exception:  # it is gone either way
            log.debug("closing a dropped read connection failed", exc_info=True)
        again: CursorResult[Any] = await (await self.connection()).execute(statement, parameters)
        return again

    async def scalar(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()


class ReadConnections:
    """Called like a session factory: `async with reads() as session: ...`."""

    __slots__ = ("engine",)

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> ReadConnection:
        return ReadConnection(self.engine)
