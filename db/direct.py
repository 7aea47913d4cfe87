"""Statements run straight through the driver (asyncpg) on PostgreSQL: compiled once, then each
run is the driver's `fetch` with positional values and rows as plain tuples.

SQLAlchemy's execution (its compiled cache lookup, execution context, events, greenlet hop,
result metadata and Row objects) cost about as much CPU as the driver itself for the small
statements a loader batch sends (measured: 168 vs 75 us for a product by slug). Only for
statements that are built once (module constants or db.pagination.Statements) and read whole:
the values they bind and the rows they return go through the same SQLAlchemy type processors
as ever, so callers see the same values. Where anything goes wrong the caller runs the statement
through SQLAlchemy instead (db.read_session), whose errors the rest of the gateway knows.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any]
log = logging.getLogger(__name__)
S = TypeVar("S", bound=Select[Any])
GENERIC_PLAN = "gateway_generic_plan"


def generic_plan(statement: S) -> S:
    """`statement`, planned once per connection (PostgreSQL's generic plan), where the
    connections otherwise plan each run anew (db.engine: `force_custom_plan`, since a page's
    size and filters decide its plan). For lookups by a list of keys, which no value planned
    differently: planning a product page's statement took 0.31 ms of PostgreSQL's CPU, running
    it 0.08 (0.01 and 0.12 generic), and the database shares the gateway's cores."""
    return statement.execution_options(**{GENERIC_PLAN: True})


class DirectRow(tuple[Any, ...]):
    """A row as db.rows.reader and db.pagination read one: by position, `_fields` for the names
    and `_parent` shared by every row of the statement."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _parent: Any = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._fields.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))


def _row_type(fields: tuple[str, ...]) -> type[DirectRow]:
    row_type: type[DirectRow] = type(
        "DirectRow", (DirectRow,), {"__slots__": (), "_fields": fields}
    )
    row_type._parent = row_type
    return row_type


@dataclass(slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    binds: tuple[Processor | None, ...]
    row_type: type[DirectRow]
    types: tuple[Any, ...]
    required: frozenset[str]
    # Known once the driver has described the result's columns (the first run): SQLAlchemy
    # chooses some processors by the column's database type.
    results: tuple[tuple[int, Processor], ...] | None = None
    # Run where the connection plans generically (db.read_session): `generic_plan`.
    generic: bool = False

    def arguments(self, values: Mapping[str, Any] | None) -> list[Any]:
        given = values or {}
        out = []
        for name, process in zip(self.names, self.binds, strict=True):
            if name in given:
                value = given[name]
            elif name in self.required:
                # SQLAlchemy refuses it too (the caller falls back and hears its error).
                raise KeyError(f"no value for the bound parameter {name!r}")
            else:
                value = self.defaults[name]
            out.append(value if process is None or value is None else process(value))
        return out

    def describe(self, type_oids: Sequence[int], dialect: Dialect) -> None:
        results = []
        for index, (type_, oid) in enumerate(zip(self.types, type_oids, strict=True)):
            # Our column types say what they do to a value the driver read; SQLAlchemy's
            # processors wrap the same in a call or two per value.
            direct = getattr(type_, "direct_result_processor", None)
            if direct is not None:
                process = direct(oid)
            elif isinstance(type_, Enum) and isinstance(type_._object_lookup, dict):
                # What the Enum's processor does, as a dict's own lookup (no Python frame); a
                # value it does not know raises, and SQLAlchemy runs the statement from then.
                process = type_._object_lookup.__getitem__
            else:
                process = type_._cached_result_processor(dialect, oid)
            if process is not None:
                results.append((index, process))
        self.results = tuple(results)

    def rows(self, records: Sequence[Any]) -> list[Any]:
        row_type, results = self.row_type, self.results
        if not results:
            return [row_type(record) for record in records]
        out = []
        for record in records:
            values = list(record)
            for index, process in results:
                if values[index] is not None:
                    values[index] = process(values[index])
            out.append(row_type(values))
        return out


def compile_direct(statement: Select[Any], dialect: Dialect) -> Compiled | None:
    """The statement as the driver runs it; None where it needs SQLAlchemy at run time (a list
    rendered per execution)."""
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    names = tuple(compiled.positiontup or ())
    bind_processors = compiled._bind_processors
    binds = tuple(cast(Processor | None, bind_processors.get(name)) for name in names)
    defaults = {name: bind.effective_value for name, bind in compiled.binds.items()}
    columns = compiled._result_columns
    fields = tuple(column.keyname for column in columns)
    types = tuple(column.type for column in columns)
    required = frozenset(name for name, bind in compiled.binds.items() if bind.required)
    generic = bool(statement.get_execution_options().get(GENERIC_PLAN, False))
    return Compiled(
        compiled.string,
        names,
        defaults,
        binds,
        _row_type(fields),
        types,
        required,
        generic=generic,
    )


class DirectStatements:
    """Compiled statements, kept as long as the statement object is (weakly keyed)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.compiled: WeakKeyDictionary[Select[Any], Compiled | None] = WeakKeyDictionary()
        # Direct runs that failed and ran again through SQLAlchemy (tests pin it at zero).
        self.failures = 0
        # Statements that found their connection planning the other way (a round trip each).
        self.switches = 0

    def get(self, statement: Select[Any]) -> Compiled | None:
        """The statement compiled for the driver, or None (SQLAlchemy runs it): one that needs
        SQLAlchemy at run time, or that could not be compiled here."""
        try:
            return self.compiled[statement]
        except KeyError:
            pass
        try:
            found = compile_direct(statement, self.dialect)
        except Exception:
            log.warning("a statement could not be compiled for direct reads", exc_info=True)
            self.failures += 1
            found = None
        self.compiled[statement] = found
        return found
