"""Engines and session factories, built from settings by whoever owns the process lifecycle."""

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from db import stats
from db.availability import CONNECT_FAILED, ConnectFailed, unavailable_state
from db.read_session import ReadConnections
from db.search.text import vocabulary_similarity
from db.settings import DatabaseSettings


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = settings.database_url
    if settings.is_sqlite:
        _ensure_sqlite_directory(url)
        engine = create_async_engine(
            url, echo=settings.database_echo, json_deserializer=orjson.loads
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(
            url,
            echo=settings.database_echo,
            # JSON columns and the JSON lists a statement aggregates (a product page's variants
            # and images) are decoded by the driver for every row: json.loads was 5% of a
            # product page's CPU. The JSON comes from the database, which only holds what
            # our own writes encoded (no NaN, no lone surrogate, no integer beyond 64 bits).
            json_deserializer=orjson.loads,
            # Three times the setting in all; reads keep up to twice it idle between batches
            # (kept_by_reads), so idle reads never hold the last third. Once opened, all may
            # stay open: a burst beyond the ones kept opened and closed a connection per
            # statement (32 concurrent cold P1s: 0.45 ms of CPU each, not 0.37).
            pool_size=kept_by_reads(settings),
            max_overflow=settings.database_pool_size,
            pool_pre_ping=False,
            connect_args={
                "server_settings": _server_settings(settings),
                "timeout": settings.database_connect_timeout_seconds,
            },
        )
        event.listen(engine.sync_engine, "do_connect", _connect)
    stats.install(engine.sync_engine)
    return engine


def kept_by_reads(settings: DatabaseSettings) -> int:
    """How many connections reads keep idle between batches: two thirds of the engine's."""
    return settings.database_pool_size * 2


def _connect(dialect: Dialect, _: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
    """Opens a connection as SQLAlchemy would, but names a failure to reach the server (which
    the driver raises as a bare OSError or server error) as what it is."""
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as error:
        if isinstance(error, OSError) or unavailable_state(error):
            raise ConnectFailed(CONNECT_FAILED) from error
        raise


def _server_settings(settings: DatabaseSettings) -> dict[str, str]:
    # Page sizes are bound parameters; a generic plan for them was measured 2.5x slower.
    out = {"plan_cache_mode": "force_custom_plan"}
    if settings.database_statement_timeout_seconds:
        out["statement_timeout"] = str(int(settings.database_statement_timeout_seconds * 1000))
    return out


def create_unpooled_engine(settings: DatabaseSettings) -> AsyncEngine:
    """For one-shot commands (migrate, seed, check) that should leave no idle connections
    behind, and say soon when the server cannot be reached."""
    if settings.is_sqlite:
        return create_engine(settings)
    timeout = {"timeout": settings.database_connect_timeout_seconds}
    return create_async_engine(
        settings.database_url,
        poolclass=NullPool,
        connect_args=timeout,
        json_deserializer=orjson.loads,
    )


AfterCommit = Callable[[Sequence[Any]], Awaitable[None]]


def session_factory(
    engine: AsyncEngine, after_commit: AfterCommit | None = None
) -> async_sessionmaker[Any]:
    """`after_commit` gets each write transaction's change records once it has committed (the
    cache invalidates with it), whoever wrote: a mutation, a task, the in-process job runner."""
    info = {"after_commit": after_commit} if after_commit else {}
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Typo tolerance reads the vocabulary with pg_trgm's measure (see db.search.text).
    dbapi_connection.create_function(
        "search_similarity", 2, vocabulary_similarity, deterministic=True
    )


def _ensure_sqlite_directory(url: str) -> None:
    _, _, path = url.partition(":///")
    if path and path != ":memory:" and not path.startswith(":"):
        Path(path.split("?")[0]).parent.mkdir(parents=True, exist_ok=True)


def read_sessions(engine: AsyncEngine, idle: int = 0, direct: bool = False) -> ReadConnections:
    """Connections for reads that run one statement at a time, on PostgreSQL without a
    transaction: no BEGIN and ROLLBACK round trips around each loader batch. Under READ COMMITTED
    each statement sees its own snapshot either way, which is also why a statement whose
    connection dropped may simply run again on a new one (ReadConnection). Anything that writes
    uses `session_factory`. On PostgreSQL, up to `idle` connections wait between batches
    without going back to the pool (ReadConnections); SQLite's reads return theirs, since a
    connection kept there may keep a snapshot. `direct`: statements built once run straight
    through the driver (db.direct)."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        return ReadConnections(engine, idle, direct)
    return ReadConnections(engine)


class Sessions(Protocol):
    """What opens a session for a batch of reads: a session factory, or ReadConnections."""

    def __call__(self) -> AbstractAsyncContextManager[Any]: ...
