"""Why a database, Redis or broker could not be used, as one sentence an operator can act on.

Drivers report the same failure in different wrappers (SQLAlchemy around asyncpg, kombu around
redis-py around the socket's error), so each error's chain of causes is searched for what it
means.
"""

import socket
from collections.abc import Iterator

from asyncpg import exceptions as pg
from redis import exceptions as redis_errors
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from db.availability import unavailable_state
from db.settings import parse_database_url

POSTGRES_PORT = 5432


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it wraps: SQLAlchemy's `orig`, `__cause__`, `__context__`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending += [orig if isinstance(orig, BaseException) else None]
        pending += [current.__cause__, current.__context__]


def unreachable(error: BaseException) -> str | None:
    """'connection refused', 'unknown host', 'timed out'... when `error` means the server could
    not be reached at all; None for any other failure."""
    for cause in causes(error):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, ConnectionError | socket.herror):
            return (cause.strerror or str(cause)).lower()
        if type(cause) is OSError:  # asyncpg joins one per address: "Multiple exceptions: ..."
            text = str(cause)
            return "connection refused" if "Connect call failed" in text else text.lower()
    return None


def _advice(reason: str, variable: str) -> str:
    if reason == "connection refused":
        return f"is it running? set {variable}"
    if reason == "timed out":
        return f"is it running and reachable from here? set {variable}"
    return f"set {variable}"


def cannot_reach(what: str, where: str, reason: str, variable: str) -> str:
    return f"cannot reach {what} at {where}: {reason}; {_advice(reason, variable)}"


def _postgres_problem(error: BaseException, url: URL) -> str | None:
    where = f"{url.host or 'localhost'}:{url.port or POSTGRES_PORT}"
    for cause in causes(error):
        if isinstance(cause, pg.InvalidCatalogNameError):
            create = f"createdb -h {url.host or 'localhost'} -p {url.port or POSTGRES_PORT}"
            create += f" -U {url.username or 'postgres'} {url.database}"
            return (
                f'database "{url.database}" does not exist on {where}; '
                f"create it ({create}) or set DATABASE_URL"
            )
        if isinstance(cause, pg.InvalidAuthorizationSpecificationError):
            return f"PostgreSQL at {where} refused the login: {cause}; check DATABASE_URL"
        if unavailable_state(cause):  # starting, shutting down, too many connections
            return f"PostgreSQL at {where} refused the connection: {cause}; try again shortly"
    reason = unreachable(error)
    return None if reason is None else cannot_reach("PostgreSQL", where, reason, "DATABASE_URL")


def _sqlite_problem(error: BaseException, url: URL) -> str | None:
    for cause in causes(error):
        if isinstance(cause, OSError):  # making its directory
            reason = (cause.strerror or str(cause)).lower()
            return f"cannot open the SQLite database {url.database}: {reason}; set DATABASE_URL"
        if isinstance(cause, SQLAlchemyError) and "unable to open database file" in str(cause):
            return f"cannot open the SQLite database {url.database}; set DATABASE_URL"
    return None


def database_problem(error: BaseException, database_url: str) -> str | None:
    """The operator's sentence for a failure to use the database, or None when `error` is not
    about reaching it (a bug, which deserves its traceback)."""
    url = parse_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_problem(error, url)
    return _postgres_problem(error, url)


def redis_problem(error: BaseException, where: str, what: str, variable: str) -> str | None:
    """The same for Redis (or a Celery broker): `where` is its host:port."""
    reason = unreachable(error)
    if reason is not None:
        return cannot_reach(what, where, reason, variable)
    for cause in causes(error):
        if isinstance(cause, redis_errors.AuthenticationError | redis_errors.ResponseError):
            return f"{what} at {where} refused: {cause}; check {variable}"
    return None
