"""Reads run without a transaction on PostgreSQL: no BEGIN and ROLLBACK around each batch."""

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db import read_session, stats
from db.direct import generic_plan
from db.engine import create_engine, kept_by_reads, read_sessions, session_factory
from db.migrate import upgrade
from db.queries.categories import children_by_parent_ids
from db.read_session import ReadConnections
from graph.settings import Settings
from tests.conftest import postgres_database

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def reads_database() -> Iterator[str]:
    # SQLite reads keep the default: a local file has no round trips to save.
    yield from postgres_database(f"gateway_test_{os.getpid()}_read_sessions")


async def _in_transaction(database_url: str, reads: bool) -> bool:
    engine = create_engine(Settings(database_url=database_url))
    try:
        sessions = read_sessions(engine) if reads else session_factory(engine)
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            return bool(raw.driver_connection.is_in_transaction())
    finally:
        await engine.dispose()


async def test_reads_open_no_transaction_on_postgresql(reads_database: str) -> None:
    assert await _in_transaction(reads_database, reads=True) is False
    assert await _in_transaction(reads_database, reads=False) is True  # writes keep theirs


async def _backend_pid(session: Any) -> int:
    return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_read_connections_wait_between_batches(reads_database: str) -> None:
    engine = create_engine(Settings(database_url=reads_database))
    reads = read_sessions(engine, idle=2)
    try:
        async with reads() as session:
            first = await _backend_pid(session)
        async with reads() as session:
            assert await _backend_pid(session) == first  # the same connection, kept
        async with reads() as one, reads() as two:
            pids = {await _backend_pid(one), await _backend_pid(two)}
        assert first in pids
        assert len(pids) == 2
        async with reads() as one, reads() as two, reads() as three:
            for session in (one, two, three):
                await _backend_pid(session)
        assert len(reads.idle.connections) == 2  # type: ignore[union-attr]  # no more than asked
        with pytest.raises(BatchFailed) as failed:
            await _failing_batch(reads)
        kept = [await _pid_of(c) for c in reads.idle.connections]  # type: ignore[union-attr]
        assert failed.value.pid not in kept  # a failed batch gives its connection back
    finally:
        await reads.close()
        await engine.dispose()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


class BatchFailed(Exception):
    def __init__(self, pid: int) -> None:
        self.pid = pid


async def _failing_batch(reads: Any) -> None:
    async with reads() as session:
        raise BatchFailed(await _backend_pid(session))


async def _pid_of(connection: Any) -> int:
    raw = await connection.get_raw_connection()
    return int(raw.driver_connection.get_server_pid())


async def test_idle_read_connections_killed_by_the_server_are_replaced(
    reads_database: str,
) -> None:
    engine = create_engine(Settings(database_url=reads_database))
    reads = read_sessions(engine, idle=3)
    admin = create_engine(Settings(database_url=reads_database))
    try:
        async with reads() as one, reads() as two, reads() as three:
            pids = [await _backend_pid(s) for s in (one, two, three)]
        async with admin.connect() as connection:
            for pid in pids:
                await connection.execute(text(f"SELECT pg_terminate_backend({pid})"))
        # The first batch meets a dead connection, runs again on a new one, and drops the
        # other idle ones: no later batch meets a dead one.
        async with reads() as session:
            assert await _backend_pid(session) not in pids
            assert reads.idle is not None
            assert reads.idle.connections == []
        for _ in range(3):
            async with reads() as session:
                assert await _backend_pid(session) not in pids
    finally:
        await reads.close()
        await engine.dispose()
        await admin.dispose()


async def test_a_lookup_by_a_list_is_one_statement_text_for_every_length(
    reads_database: str,
) -> None:
    """`column = ANY($1)` on PostgreSQL: lists of any length share one prepared statement."""
    engine = create_engine(Settings(database_url=reads_database))
    reads = read_sessions(engine, idle=1)
    try:
        await upgrade(engine)
        async with reads() as session:
            await session.execute(text("DELETE FROM categories"))
            await session.execute(
                text(
                    "INSERT INTO categories (id, slug, name, description, parent_id, position,"
                    " level, path, created_at, updated_at) SELECT n, 'c' || n, 'C' || n, '',"
                    " CASE WHEN n > 1 THEN 1 END, n, CASE WHEN n > 1 THEN 1 ELSE 0 END,"
                    " CASE WHEN n > 1 THEN '/1/' || n || '/' ELSE '/1/' END, now(), now()"
                    " FROM generate_series(1, 6) AS n"
                )
            )
            for parents in ([1], [1, 2], [2, 3, 4, 5, 1]):
                found = await children_by_parent_ids(session=session, parent_ids=parents)  # type: ignore[arg-type]  # a ReadConnection offers what it uses
                assert [row.id for row in found] == ([2, 3, 4, 5, 6] if 1 in parents else [])
            prepared = await session.execute(
                text(
                    "SELECT count(*) FROM pg_prepared_statements"
                    " WHERE statement LIKE '%categories.parent_id = any(%'"
                    " AND statement NOT LIKE '%pg_prepared_statements%'"
                )
            )
            assert prepared.scalar_one() == 1
    finally:
        await reads.close()
        await engine.dispose()


async def test_a_cancelled_batch_gives_its_connection_up_and_a_closed_free_list_keeps_none(
    reads_database: str,
) -> None:
    engine = create_engine(Settings(database_url=reads_database))
    reads = read_sessions(engine, idle=2)
    try:
        async with reads() as session:
            first = await _backend_pid(session)

        async def slow() -> None:
            async with reads() as session:
                await session.execute(text("SELECT pg_sleep(5)"))

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reads.idle is not None
        assert reads.idle.connections == []  # not kept, and invalidated: never reused
        async with reads() as session:
            assert await _backend_pid(session) != first
        await reads.close()
        async with reads() as session:  # a batch that ends after the app closed its reads
            await _backend_pid(session)
        assert reads.idle.connections == []
    finally:
        await reads.close()
        await engine.dispose()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_statement_the_server_cancels_is_not_run_again(reads_database: str) -> None:
    """A statement timeout is the server's verdict: the direct read reports it, once."""
    settings = Settings(database_url=reads_database, database_statement_timeout_seconds=0.2)
    engine = create_engine(settings)
    reads = read_sessions(engine, idle=1, direct=True)
    slow = select(func.pg_sleep(1))
    counter, token = stats.start_counting()
    try:
        async with reads() as session:
            with pytest.raises(asyncpg.QueryCanceledError):
                await session.rows(slow)
        assert counter.count == 1
        assert reads.direct is not None
        assert reads.direct.failures == 0
    finally:
        stats.stop_counting(token)
        await reads.close()
        await engine.dispose()


async def test_connections_kept_by_reads_never_keep_writes_waiting(reads_database: str) -> None:
    """The pool's overflow leaves others as many connections as if reads kept none."""
    engine = create_engine(Settings(database_url=reads_database, database_pool_size=1))
    reads = read_sessions(engine, idle=1)
    try:
        async with reads() as session:
            await _backend_pid(session)
        assert reads.idle is not None
        assert len(reads.idle.connections) == 1  # kept

        async def write() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(0.2)"))

        # Two at once: the pool's one and one of overflow, with the read's kept aside.
        await asyncio.wait_for(asyncio.gather(write(), write()), timeout=10)
    finally:
        await reads.close()
        await engine.dispose()


async def test_direct_reads_cancelled_at_random_under_concurrency_leave_nothing_behind(
    reads_database: str,
) -> None:
    """Twelve batches at a time on a pool of three, a third cancelled mid-statement: the rest
    answer, none falls back, no statement is left running, no connection is lost."""
    engine = create_engine(Settings(database_url=reads_database, database_pool_size=3))
    reads = read_sessions(engine, idle=3, direct=True)
    statements = [select(func.pg_sleep(0.02 * i), func.now()) for i in range(6)]
    rng = random.Random(7)
    answered = 0

    async def batch(i: int) -> None:
        nonlocal answered
        async with reads() as session:
            assert len(await session.rows(statements[i % 6])) == 1
        answered += 1

    try:
        for _ in range(10):
            tasks = [asyncio.create_task(batch(i)) for i in range(12)]
            await asyncio.sleep(rng.uniform(0, 0.08))
            for task in rng.sample(tasks, 4):
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert [r for r in results if not isinstance(r, asyncio.CancelledError | None)] == []
        assert answered >= 80
        assert reads.direct is not None
        assert reads.direct.failures == 0
        async with reads() as session:
            running = await session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'active' AND pid <> pg_backend_pid()"
                )
            )
            assert running.scalar_one() == 0
        assert reads.idle is not None
        assert engine.pool.checkedout() == len(reads.idle.connections)  # type: ignore[attr-defined]
    finally:
        await reads.close()
        await engine.dispose()


async def test_a_burst_of_reads_reuses_its_connections_instead_of_reopening_them(
    reads_database: str,
) -> None:
    """Six reads at once on DATABASE_POOL_SIZE=2, as the app keeps them (two thirds of the
    engine's connections, db.engine): every connection opened for the first burst stays open
    for the next ones. With only a third kept, each burst opened and closed the rest anew."""
    settings = Settings(database_url=reads_database, database_pool_size=2)
    engine = create_engine(settings)
    reads = read_sessions(engine, idle=kept_by_reads(settings))
    seen: set[int] = set()

    async def read() -> None:
        async with reads() as session:
            seen.add(await _backend_pid(session))
            await session.execute(text("SELECT pg_sleep(0.05)"))

    try:
        await asyncio.gather(*(read() for _ in range(6)))
        first = set(seen)
        for _ in range(4):
            await asyncio.gather(*(read() for _ in range(6)))
        assert len(first) == 6
        assert seen == first
    finally:
        await reads.close()
        await engine.dispose()


GENERIC, CUSTOM = "force_generic_plan", "force_custom_plan"


@asynccontextmanager
async def _direct_reads(
    database: str, idle: int = 0, pool_size: int = 10
) -> AsyncIterator[tuple[AsyncEngine, ReadConnections]]:
    """An engine and its direct reads (`idle` kept), both closed after."""
    engine = create_engine(Settings(database_url=database, database_pool_size=pool_size))
    reads = read_sessions(engine, idle=idle, direct=True)
    try:
        yield engine, reads
    finally:
        await reads.close()
        await engine.dispose()


async def _planning(session: Any, statement: Any) -> str:
    """The plan_cache_mode the statement ran under (its first column)."""
    return str((await session.rows(statement))[0][0])


async def test_lookups_plan_once_per_connection_and_every_other_statement_each_run(
    reads_database: str,
) -> None:
    """A statement marked `generic_plan` runs where its connection plans generically; any other
    on the same connection, and every connection given back to the pool (its next user may be
    a write), plans each run as the connection was opened to. A batch takes a kept connection
    that already plans as its first statement wants, so a steady mix switches no more."""
    other = select(func.current_setting("plan_cache_mode"))
    lookup = generic_plan(select(func.current_setting("plan_cache_mode"), func.now()))
    sql = text("SELECT current_setting('plan_cache_mode')")
    async with _direct_reads(reads_database, idle=2) as (engine, reads):
        assert reads.direct is not None
        async with reads() as session:
            assert await _planning(session, lookup) == GENERIC
            assert await _planning(session, other) == CUSTOM
            assert await _planning(session, lookup) == GENERIC
            assert (await session.execute(sql)).scalar_one() == CUSTOM
            assert await _planning(session, lookup) == GENERIC
        async with reads() as one, reads() as two:
            assert await _planning(one, lookup) == GENERIC  # the one kept
            assert await _planning(two, other) == CUSTOM
        switches = reads.direct.switches
        for _ in range(3):
            async with reads() as one, reads() as two:
                assert await _planning(two, other) == CUSTOM
                assert await _planning(one, lookup) == GENERIC
        assert reads.direct.switches == switches  # each found one planning as it wanted
        assert reads.stats() == {
            "kept": {"custom": 1, "generic": 1},
            "direct": {"statements": 2, "fallbacks": 0, "planSwitches": switches},
        }
        kept = {await _pid_of(connection) for connection in reads.idle.connections}  # type: ignore[union-attr]
        assert len(kept) == 2
        await reads.close()  # both back to the engine's pool
        async with engine.connect() as first, engine.connect() as second:
            pids = {await _pid_of(first), await _pid_of(second)}
            modes = {(await c.execute(sql)).scalar_one() for c in (first, second)}
        assert pids == kept
        assert modes == {CUSTOM}
        assert reads.direct.failures == 0


async def test_a_dropped_connection_that_must_switch_its_planning_is_replaced(
    reads_database: str,
) -> None:
    """The switch meets the dead connection first: the read still answers, once, on a new one
    (the switch's failure is SQLAlchemy's to meet, as a statement's would be)."""
    admin = create_engine(Settings(database_url=reads_database))
    lookup = generic_plan(select(func.pg_backend_pid()))
    other = select(func.pg_backend_pid(), func.current_setting("plan_cache_mode"))
    try:
        async with _direct_reads(reads_database, idle=1) as (_, reads):
            async with reads() as session:
                (pid,) = (await session.rows(lookup))[0]
            async with admin.connect() as connection:
                await connection.execute(text(f"SELECT pg_terminate_backend({pid})"))
            async with reads() as session:
                new_pid, planning = (await session.rows(other))[0]
        assert new_pid != pid
        assert planning == CUSTOM
    finally:
        await admin.dispose()


async def test_a_connection_given_back_mid_reset_is_closed_never_left_out(
    reads_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Giving a connection that plans generically back to the pool waits for its reset: one
    that hangs (a half-open connection; here a reset that sleeps) is given up after
    PLAN_TIMEOUT and the connection closed; one cancelled meanwhile is closed all the same.
    Either way the pool has every connection back."""
    lookup = generic_plan(select(func.pg_backend_pid()))
    monkeypatch.setattr(read_session, "PLAN_AS_OPENED", "SELECT pg_sleep(3)")
    monkeypatch.setattr(read_session, "PLAN_TIMEOUT", 0.2)
    # None kept: each connection goes back at its batch's end.
    async with _direct_reads(reads_database) as (engine, reads):

        async def batch() -> None:
            async with reads() as session:
                await session.rows(lookup)

        await asyncio.wait_for(batch(), timeout=2)  # not the 3 s of the sleeping reset
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        monkeypatch.setattr(read_session, "PLAN_TIMEOUT", 30.0)
        task = asyncio.create_task(batch())
        await asyncio.sleep(0.5)  # the rows are read; the reset sleeps
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert reads.direct is not None
        assert reads.direct.failures == 0


async def test_mixed_plannings_cancelled_at_random_under_concurrency_stay_right(
    reads_database: str,
) -> None:
    """Twelve batches at a time on DATABASE_POOL_SIZE=3, each a lookup and another statement
    (in either order), a third cancelled at random (mid-statement, mid-switch): every statement
    that answers ran under the planning it wanted, none fell back, and every connection the
    pool holds afterwards plans as it was opened to."""
    lookup = generic_plan(select(func.current_setting("plan_cache_mode"), func.pg_sleep(0.005)))
    other = select(func.current_setting("plan_cache_mode"), func.pg_sleep(0.005))
    rng = random.Random(11)
    ran: list[tuple[str, str]] = []

    async def batch(reads: ReadConnections, i: int) -> None:
        pairs = [(lookup, GENERIC), (other, CUSTOM)]
        async with reads() as session:
            for statement, wanted in pairs if i % 2 else pairs[::-1]:
                ran.append((wanted, await _planning(session, statement)))

    async with _direct_reads(reads_database, idle=3, pool_size=3) as (engine, reads):
        for _ in range(8):
            tasks = [asyncio.create_task(batch(reads, i)) for i in range(12)]
            await asyncio.sleep(rng.uniform(0, 0.03))
            for task in rng.sample(tasks, 4):
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert [r for r in results if not isinstance(r, asyncio.CancelledError | None)] == []
        assert len(ran) > 100
        assert [(wanted, got) for wanted, got in ran if wanted != got] == []
        assert reads.direct is not None
        assert reads.direct.failures == 0
        assert reads.direct.switches > 0
        await reads.close()
        pooled = engine.pool.checkedin()  # type: ignore[attr-defined]
        assert pooled >= 3
        async with AsyncExitStack() as stack:
            connections = [await stack.enter_async_context(engine.connect()) for _ in range(pooled)]
            sql = text("SELECT current_setting('plan_cache_mode')")
            modes = [(await c.execute(sql)).scalar_one() for c in connections]
        assert modes == [CUSTOM] * pooled
