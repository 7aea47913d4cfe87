"""Alembic environment: runs migrations over the async engine that `db.migrate` hands it."""

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from db.models import Base
from db.search import outside_models


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=outside_models,
    )
    with context.begin_transaction():
        context.run_migrations()


connection: Any = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `gateway migrate`, which supplies the connection")
_run(connection)
