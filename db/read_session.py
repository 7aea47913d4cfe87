"""Connections for reads: a pooled connection, no Session, and a statement whose connection
dropped runs once more on a new one.

On PostgreSQL (autocommit: no transaction is left open between statements) the connections are
kept checked out in a free list of our own between batches: SQLAlchemy's checkout and checkin
(events, reset-on-return, the fairy bookkeeping) cost ~120 us of CPU per batch, nearly as much as
the statement (measured 295 -> 168 us for a product by slug).

A Session's unit of work, identity map and transaction bookkeeping cost more CPU than the one
statement a loader batch runs (measured ~30% of a product lookup), and reads need none of it.
A pooled connection can die while idle (a restarted server, a terminated backend) or under a
statement; without the retry, the first request to draw each dead connection would fail.
"""

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import asyncpg
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import stats
from db.availability import is_dropped_connection, unavailable_state
from db.direct import DirectStatements

log = logging.getLogger(__name__)
DRIVER = "gateway.driver_connection"
# In the pooled connection's `info`: True while it plans generically (db.direct.generic_plan);
# absent or False, it plans as it was opened to (db.engine: force_custom_plan).
GENERIC = "gateway.generic_plan"
PLAN_GENERIC = "SET plan_cache_mode = force_generic_plan"
PLAN_AS_OPENED = "RESET plan_cache_mode"
PLAN_TIMEOUT = 5.0


class ReadConnection:
    """Only for reads, so running a statement twice changes nothing; each statement has its own
    snapshot anyway (engine.read_sessions), so the second run is as good as the first. Once only:
    a connection that drops again means the database is in trouble, and the caller hears it. It
    offers what the query functions use of a session: `execute`, `scalar`, `connection`,
    `get_bind`."""

    __slots__ = ("direct", "engine", "idle", "opened")

    def __init__(
        self,
        engine: AsyncEngine,
        idle: "IdleConnections | None" = None,
        direct: DirectStatements | None = None,
    ) -> None:
        self.engine = engine
        self.opened: AsyncConnection | None = None
        self.idle = idle
        self.direct = direct

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
            if kind is not None and not issubclass(kind, Exception):
                # Cancelled, maybe mid-statement with the driver's cancel request in flight:
                # the next user of this connection must not be the one it cancels.
                await connection.invalidate()
                await connection.close()
                return
            # A batch that failed may have left the connection mid-statement too.
            if self.idle is None or kind is not None or not self.idle.keep(connection):
                await _release(connection)

    def get_bind(self) -> AsyncEngine:
        return self.engine

    async def connection(self, generic: bool = False) -> AsyncConnection:
        """The connection statements run on, as `AsyncSession.connection()` gives it; a kept
        one that plans `generic`ally (or not) where there is one."""
        if self.opened is None:
            held = None if self.idle is None else self.idle.take(generic)
            self.opened = held if held is not None else await self.engine.connect()
        return self.opened

    async def execute(
        self, statement: Any, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        opened = await self.connection()
        try:
            if self.direct is not None and opened.info.get(GENERIC):
                await self._plan_as_opened(opened)
            result: CursorResult[Any] = await opened.execute(statement, parameters)
            return result
        except Exception as error:
            if not is_dropped_connection(error):
                raise
            log.warning("a read's connection dropped; running it once more on a new one")
        self.opened = None
        if self.idle is not None:
            # What killed this one (a restart, a failover) most likely killed the idle ones too.
            await self.idle.discard_all()
        try:
            await opened.invalidate()
            await opened.close()
        except Exception:  # it is gone either way
            log.debug("closing a dropped read connection failed", exc_info=True)
        # From the pool, not the free list: a batch that ended meanwhile may have put back a
        # connection the same restart killed, and this is the read's last try. (The pool was
        # invalidated with the dropped connection: what it gives is new.)
        self.opened = await self.engine.connect()
        again: CursorResult[Any] = await self.opened.execute(statement, parameters)
        return again

    @staticmethod
    async def _plan_as_opened(opened: AsyncConnection) -> None:
        """What SQLAlchemy runs (a list rendered per run, a direct run that failed) is planned
        with its values, as everything but lookups is. A connection that cannot switch (one a
        failed direct run left dropped or mid-statement) goes to SQLAlchemy as it is, which
        meets its failure, and retries, as it always has."""
        try:
            await _plan(opened, await _driver(opened), generic=False)
        except Exception:
            log.debug("a read connection did not switch its planning", exc_info=True)

    async def scalar(self, statement: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def rows(
        self, statement: Any, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Every row of a statement built once, straight through the driver where it can
        (db.direct); else, or should that fail, through `execute`."""
        direct = self.direct
        compiled = None if direct is None else direct.get(statement)
        if direct is not None and compiled is not None:
            # Failing to open or reach a connection is the same failure either way: it goes up.
            opened = await self.connection(compiled.generic)
            info = opened.info
            driver: Any = info.get(DRIVER)
            if driver is None:
                driver = await _driver(opened)
            if info.get(GENERIC, False) is not compiled.generic:
                try:
                    await _plan(opened, driver, generic=compiled.generic)
                    direct.switches += 1
                except Exception:
                    # Dropped, or left mid-statement: SQLAlchemy meets it, and retries.
                    log.debug("a read connection did not switch its planning", exc_info=True)
                    direct.failures += 1
                    return (await self.execute(statement, parameters)).all()
            try:
                if compiled.results is None:
                    # Once: `prepare` makes a statement of its own each time, where `fetch`
                    # reuses the one the driver keeps per connection for this text.
                    prepared = await driver.prepare(compiled.sql)
                    types = [attribute.type.oid for attribute in prepared.get_attributes()]
                    compiled.describe(types, direct.dialect)
                stats.count_statement()
                records = await driver.fetch(compiled.sql, *compiled.arguments(parameters))
                return compiled.rows(records)
            except asyncpg.PostgresError as error:
                # The server's verdict (a timeout, a cancel, bad input) would be the same again;
                # only a server that cannot serve now is worth SQLAlchemy's retry.
                if not unavailable_state(error):
                    raise
                direct.failures += 1
            except (asyncpg.InterfaceError, OSError):
                # A dropped connection: SQLAlchemy meets it, invalidates it and retries once.
                direct.failures += 1
            except Exception:
                # Our own failure (binding, reading): SQLAlchemy runs this statement from now.
                direct.failures += 1
                direct.compiled[statement] = None
                log.warning("a direct read failed; SQLAlchemy runs it from now", exc_info=True)
        return (await self.execute(statement, parameters)).all()


class IdleConnections:
    """Connections between batches, still checked out of the engine's pool (which therefore
    still bounds how many there are). At most `size` wait here; more go back to the pool. The
    engine's overflow is sized to leave everyone else (writes) as many connections as if none
    waited here (db.engine.create_engine)."""

    __slots__ = ("closed", "custom", "generic", "size")

    def __init__(self, size: int) -> None:
        # By how they plan (ReadConnection.rows): a batch takes one that plans as its first
        # statement wants, so that connections settle into the mix of statements the load
        # sends and seldom switch (a round trip).
        self.custom: list[AsyncConnection] = []
        self.generic: list[AsyncConnection] = []
        self.size = size
        self.closed = False

    @property
    def connections(self) -> list[AsyncConnection]:
        """Every one kept, however it plans."""
        return [*self.custom, *self.generic]

    def take(self, generic: bool = False) -> AsyncConnection | None:
        first, other = (self.generic, self.custom) if generic else (self.custom, self.generic)
        if first:
            return first.pop()
        return other.pop() if other else None

    def keep(self, connection: AsyncConnection) -> bool:
        if (
            self.closed
            or len(self.custom) + len(self.generic) >= self.size
            or connection.invalidated
            or connection.closed
        ):
            return False
        (self.generic if connection.info.get(GENERIC) else self.custom).append(connection)
        return True

    def _take_all(self) -> list[AsyncConnection]:
        connections = self.connections
        self.custom, self.generic = [], []
        return connections

    async def discard_all(self) -> None:
        connections = self._take_all()
        for connection in connections:
            try:
                await connection.invalidate()
                await connection.close()
            except Exception:  # a dead connection may fail to say goodbye
                log.debug("closing an idle read connection failed", exc_info=True)

    async def close(self) -> None:
        """Returns them to the pool; batches still running (a timed-out request's, shielded)
        return theirs when they end."""
        self.closed = True
        for connection in self._take_all():
            try:
                await _release(connection)
            except Exception:
                log.debug("closing an idle read connection failed", exc_info=True)


class ReadConnections:
    """Called like a session factory: `async with reads() as session: ...`. With `idle_size`,
    connections wait between batches in an IdleConnections of that size (only where no
    transaction stays open between statements); `close` returns them before the engine is
    disposed."""

    __slots__ = ("direct", "engine", "idle")

    def __init__(self, engine: AsyncEngine, idle_size: int = 0, direct: bool = False) -> None:
        if (idle_size or direct) and engine.get_execution_options().get(
            "isolation_level"
        ) != "AUTOCOMMIT":
            # A transaction would undo a switch of planning (ReadConnection.rows) when the
            # pool rolls it back, and a kept connection would hold its snapshot.
            raise ValueError("kept or direct reads need an AUTOCOMMIT engine (read_sessions)")
        self.engine = engine
        self.idle = IdleConnections(idle_size) if idle_size else None
        self.direct = DirectStatements(engine.dialect) if direct else None

    def __call__(self) -> ReadConnection:
        return ReadConnection(self.engine, self.idle, self.direct)

    def stats(self) -> dict[str, object]:
        """For /readyz: connections kept between batches by how they plan, statements run
        straight through the driver, their runs that fell back to SQLAlchemy, and switches of
        planning (each a round trip: a steady load makes few)."""
        idle, direct = self.idle, self.direct
        return {
            "kept": None
            if idle is None
            else {"custom": len(idle.custom), "generic": len(idle.generic)},
            "direct": None
            if direct is None
            else {
                "statements": sum(1 for c in direct.compiled.values() if c is not None),
                "fallbacks": direct.failures,
                "planSwitches": direct.switches,
            },
        }

    async def close(self) -> None:
        if self.idle is not None:
            await self.idle.close()


async def _driver(opened: AsyncConnection) -> Any:
    """The asyncpg connection under `opened`, kept with the pooled connection (SQLAlchemy
    empties `info` when it replaces it): asking for it costs a hop into SQLAlchemy's greenlet."""
    driver = opened.info.get(DRIVER)
    if driver is None:
        raw = await opened.get_raw_connection()
        driver = opened.info[DRIVER] = raw.driver_connection
    return driver


async def _plan(opened: AsyncConnection, driver: Any, *, generic: bool) -> None:
    # A SET answers at once; one that does not is on a connection gone half-open.
    await driver.execute(PLAN_GENERIC if generic else PLAN_AS_OPENED, timeout=PLAN_TIMEOUT)
    opened.info[GENERIC] = generic


async def _release(connection: AsyncConnection) -> None:
    """Back to the engine's pool, planning as it was opened to: its next user may be a write,
    whose statements nobody marked for a generic plan."""
    if not connection.invalidated and connection.info.get(GENERIC):
        try:
            await _plan(connection, await _driver(connection), generic=False)
        except Exception:  # it cannot be trusted to plan as opened: a new one will
            log.debug("a read connection did not reset its planning", exc_info=True)
            await connection.invalidate()
        except BaseException:  # cancelled mid-reset: closed all the same, never left out
            await connection.invalidate()
            await connection.close()
            raise
    await connection.close()


async def read_rows(
    session: Any, statement: Any, parameters: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """Every row of a statement built once: through ReadConnection.rows where the session is
    one, else (a write's session, which reads inside its transaction) through `execute`."""
    rows = getattr(session, "rows", None)
    found: Sequence[Any] = (
        await rows(statement, parameters)
        if rows is not None
        else (await session.execute(statement, parameters)).all()
    )
    return found
