"""`column IN (list)` bound as a single parameter on PostgreSQL.

SQLAlchemy renders an expanding IN anew for every execution, one cast parameter per element
(~8% of a 50-product page's CPU), and each list length is another statement text: another
Parse and plan on the server and another prepared statement in the driver's cache. On
PostgreSQL `column = ANY($1)` with the list as one array parameter has one text for every
length. Other backends keep the expanding IN.
"""

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Enum, String, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class OneOf(ColumnElement[bool]):
    """True where `column` equals one of the list bound to the parameter `name`."""

    type = Boolean()
    # A comparison already: backends without booleans must not get `= 1` appended.
    _is_implicitly_boolean = True
    # Cached by its own traversal (column and name), not its base class's.
    inherit_cache = False
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's declared type)
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name

    @property
    def _from_objects(self) -> list[Any]:
        # The column's table belongs in FROM as it would for `column IN (...)`.
        return self.column._from_objects


def one_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    return OneOf(column, name)


@compiles(OneOf)
def _expanding(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    clause = element.column.in_(bindparam(element.name, expanding=True))
    return compiler.process(clause, **kw)


@compiles(OneOf, "postgresql")
def _any(element: OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    item = element.column.type
    if isinstance(item, String) and not isinstance(item, Enum):
        # VARCHAR(n)[] would cut each value to n characters before comparing.
        item = String()
    values = bindparam(element.name, type_=ARRAY(item))
    return compiler.process(element.column == func.any(values), **kw)
