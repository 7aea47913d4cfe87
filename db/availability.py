"""Which failures mean the database cannot be reached or dropped a connection: worth trying
again shortly, unlike a bug. The one place that decides it, for the API's error codes, its
HTTP statuses and the read retry.

    DatabaseUnavailable        a failure the db package has already judged, with a message
     ├── ConnectFailed         no connection could be opened (refused, unreachable, timed out)
     └── WriteOutcomeUnknown   the connection dropped while a write was committing

Besides these: a pool that gave no connection in time, a connection SQLAlchemy invalidated
(dropped mid-query), and PostgreSQL's SQLSTATEs for connection failures (class 08), a server
shutting down, crashed or starting (57P01-57P03), an idle session ended (57P05) and too many
connections (53300).
"""

from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "57P05", "53300")
CONNECT_FAILED = "The database is unavailable: no connection could be opened. Try again shortly."


class DatabaseUnavailable(Exception):
    """The database cannot answer now; the message says what happened to the operation."""


class ConnectFailed(DatabaseUnavailable):
    """Opening a connection failed: the server is down, unreachable or not accepting yet."""


class WriteOutcomeUnknown(DatabaseUnavailable):
    """The connection dropped while a transaction was committing, and whether it committed
    could not be checked: it may or may not be applied."""


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # Only what it was raised *from*: a bug raised while handling a dropped connection
        # is still a bug.
        current = current.__cause__


def unavailable_state(error: BaseException) -> bool:
    """A PostgreSQL error whose SQLSTATE says the server cannot serve this connection now."""
    state = getattr(error, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in UNAVAILABLE_STATES)


def is_dropped_connection(error: BaseException) -> bool:
    """The statement's connection died under it; SQLAlchemy has invalidated it, so the next
    statement gets a new one."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


def is_unavailable(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised from, is a database availability problem."""
    if error is None:
        return False
    return any(
        isinstance(cause, DatabaseUnavailable | PoolTimeout)
        or is_dropped_connection(cause)
        or unavailable_state(cause)
        for cause in _chain(error)
    )
