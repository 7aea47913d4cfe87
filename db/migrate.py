"""Applies the Alembic migrations to the configured database."""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


@dataclass(frozen=True, slots=True)
class Revisions:
    """Where the database's schema is, against where this code's migrations lead."""

    current: str | None  # None: never migrated
    head: str
    known: bool  # `current` is one of this code's revisions (not a newer release's)

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def revisions(engine: AsyncEngine) -> Revisions:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None, "db/migrations has no revisions"
    known = current is None or current in {script.revision for script in scripts.walk_revisions()}
    return Revisions(current, head, known)
