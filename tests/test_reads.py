"""Reads run without a transaction on PostgreSQL: no BEGIN and ROLLBACK around each batch."""

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from db.engine import create_engine, read_sessions, session_factory
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
            return bool(raw.driver_connection.is_in_transaction())
    finally:
        await engine.dispose()


async def test_reads_open_no_transaction_on_postgresql(reads_database: str) -> None:
    assert await _in_transaction(reads_database, reads=True) is False
    assert await _in_transaction(reads_database, reads=False) is True  # writes keep theirs
