"""Database settings shared by the gateway and the workers."""

import re

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/gateway.db"
SUPPORTED_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
USAGE = "use postgresql://user@host:5432/name or sqlite:///path/to/file.db"


def normalise_database_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://) and pick the async drivers."""
    for prefix in (
        "postgres://",
        "postgresql://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def redacted(url: str) -> str:
    """`url` fit for a message or a log: no password."""
    return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", url)


def parse_database_url(url: str) -> URL:
    """The URL, refused with a sentence that names the fix when it is not one the gateway runs
    on: a typo in the scheme, another database, a port that is not a number."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"DATABASE_URL {redacted(url)!r} is not a URL; {USAGE}") from None
    except ValueError:  # the only number in a URL
        raise ValueError(f"DATABASE_URL {redacted(url)!r}: the port is not a number") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise ValueError(
            f"DATABASE_URL: {parsed.drivername!r} is not supported "
            f"(PostgreSQL and SQLite are); {USAGE}"
        )
    return parsed


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = 10
    database_echo: bool = False
    # PostgreSQL cancels any statement that runs longer (unset: no limit).
    database_statement_timeout_seconds: float | None = None
    # How long opening a PostgreSQL connection may take; the driver's own default is 60 s.
    database_connect_timeout_seconds: float = 5.0

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, value: str) -> str:
        normalised = normalise_database_url(value)
        parse_database_url(normalised)
        return normalised

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
