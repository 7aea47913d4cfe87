"""Counts the SQL statements each request sends: for its log line and metrics, and so tests and
the benchmark can pin them."""

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass(slots=True)
class StatementCounter:
    count: int = 0


_current: ContextVar[StatementCounter | None] = ContextVar("sql_statements", default=None)


def start_counting() -> tuple[StatementCounter, Token[StatementCounter | None]]:
    """Begin a fresh count for the current task and every task it spawns; the token ends it."""
    counter = StatementCounter()
    return counter, _current.set(counter)


def stop_counting(token: Token[StatementCounter | None]) -> None:
    _current.reset(token)


def count_statement(*_: Any) -> None:
    """One statement sent, by SQLAlchemy (its event) or straight through the driver."""
    counter = _current.get()
    if counter is not None:
        counter.count += 1


def install(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", count_statement)
