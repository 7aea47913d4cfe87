"""One judge of database trouble: what is UNAVAILABLE (retry later) and what is a bug, and when
a whole operation failed for it (HTTP 503)."""

from typing import Any

import pytest
from asyncpg import exceptions as pg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from db.availability import ConnectFailed, WriteOutcomeUnknown, is_unavailable
from graph.errors import ErrorCode, error_dict, expected
from graph.execution.executor import Cost, Outcome
from graph.transport.http import nothing_resolved
from workers.app import TRANSIENT


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


def _raised_while_handling(error: BaseException, handled: BaseException) -> BaseException:
    try:
        try:
            raise handled
        except BaseException:
            raise error  # noqa: B904 - the point: a bug raised while handling, not from it
    except BaseException as raised:
        return raised


def _dbapi(orig: BaseException, invalidated: bool) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        pg.TooManyConnectionsError("too many connections for role"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CrashShutdownError("crash"),
        pg.CannotConnectNowError("the database system is shutting down"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.IdleSessionTimeoutError("idle session timeout"),
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
        ConnectFailed("refused"),
        WriteOutcomeUnknown("lost during COMMIT"),
        _dbapi(Exception("cannot switch to state 15"), invalidated=True),
        _raised_from(RuntimeError("wrapped"), pg.AdminShutdownError("shutdown")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_database_trouble_is_unavailable(error: BaseException) -> None:
    assert is_unavailable(error)
    assert expected(error) is not None
    assert expected(error)[1] is ErrorCode.UNAVAILABLE  # type: ignore[index]


@pytest.mark.parametrize(
    "error",
    [
        None,
        ValueError("a bug"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.UniqueViolationError("duplicate key"),
        _dbapi(pg.UniqueViolationError("duplicate key"), invalidated=False),
        _raised_while_handling(KeyError("a bug"), pg.AdminShutdownError("shutdown")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_anything_else_is_not(error: BaseException | None) -> None:
    assert not is_unavailable(error)
    assert expected(error) is None


def _outcome(data: Any, *codes_at: tuple[ErrorCode, str]) -> Outcome:
    errors = [{**error_dict("m", code), "path": [root]} for code, root in codes_at]
    return Outcome(data, errors, True, Cost(1, 10))


def test_only_an_operation_that_resolved_nothing_is_a_503() -> None:
    down = ErrorCode.UNAVAILABLE
    assert nothing_resolved(_outcome(None, (down, "products")))
    assert nothing_resolved(_outcome({"a": None, "b": None}, (down, "a"), (down, "b")))
    # Partial data, a null that is an answer, or another error: a 200 as usual.
    assert not nothing_resolved(_outcome({"a": None, "b": {"id": "1"}}, (down, "a")))
    assert not nothing_resolved(_outcome({"a": None, "b": None}, (down, "a")))
    assert not nothing_resolved(_outcome(None, (down, "a"), (ErrorCode.BAD_USER_INPUT, "b")))
    assert not nothing_resolved(_outcome({"a": {"id": "1"}}))


def test_a_task_that_meets_database_trouble_is_retried_not_failed() -> None:
    assert isinstance(ConnectFailed("refused"), TRANSIENT)
    assert isinstance(PoolTimeout("pool full"), TRANSIENT)
