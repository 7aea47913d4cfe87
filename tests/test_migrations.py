"""Migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from db.engine import create_unpooled_engine
from db.models import Base
from db.search import outside_models
from graph.settings import Settings


def _differences(connection: Connection) -> list[Any]:
    opts = {"compare_type": True, "include_name": outside_models}
    context = MigrationContext.configure(connection, opts=opts)
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_database_matches_the_models(settings: Settings) -> None:
    engine = create_unpooled_engine(settings)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
