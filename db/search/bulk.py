"""Bulk loads: the search index refreshed once at the end, not once per written row.

The index's triggers fire for every row an executemany writes; a 20,000-product seed spent most
of its time in them. Inside `deferred` they skip, and the whole catalog is refreshed before the
transaction commits, by the same code the triggers run.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

POSTGRESQL = (
    ("SET LOCAL search.deferred = 'on'",),
    (
        "SET LOCAL search.deferred = 'off'",
        "SELECT product_search_refresh(ARRAY(SELECT id FROM products))",
    ),
)
SQLITE = (
    ("INSERT INTO product_search_deferred (since) VALUES (datetime('now'))",),
    # The update trigger rebuilds each product's row from its current texts.
    ("DELETE FROM product_search_deferred", "UPDATE products SET name = name"),
)


@asynccontextmanager
async def deferred(connection: AsyncConnection) -> AsyncIterator[None]:
    """Within one transaction of `connection`, which must commit only after this exits."""
    before, after = POSTGRESQL if connection.dialect.name == "postgresql" else SQLITE
    for statement in before:
        await connection.execute(text(statement))
    yield
    for statement in after:
        await connection.execute(text(statement))
