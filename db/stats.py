"""Counts the SQL statements each request sends, so tests and the benchmark can pin them."""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass(slots=True)
class StatementCounter:
    count: int = 0


_current: ContextVar[StatementCounter | None] = ContextVar("sql_statements", default=None)


def start_counting() -> StatementCounter:
    """Begin a fresh count for the current task and every task it spawns."""
    counter = StatementCounter()
    _current.set(counter)
    return counter


def install(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        counter = _current.get()
        if counter is not None:
            counter.count += 1
