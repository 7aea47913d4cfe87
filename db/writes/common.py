"""Lookups the write functions share: locked reads, category chains, optimistic checks."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from db.models import categories, products
from db.queries.categories import to_row as category_row
from db.queries.products import to_row as product_row
from db.rows import CategoryRow, ProductRow
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction


async def locked(tx: WriteTransaction, table: Table, key: int) -> Row[Any] | None:
    """The row, locked until commit (FOR UPDATE is a no-op on SQLite, where writers queue)."""
    stmt = select(*table.c).where(table.c.id == key).with_for_update()
    return (await tx.session.execute(stmt)).first()


async def locked_product(tx: WriteTransaction, product_id: int, field: str) -> ProductRow:
    row = await locked(tx, products, product_id)
    if row is None:
        raise WriteError.one(field, "No product has this id.", UserErrorCode.NOT_FOUND)
    return product_row(row)


async def locked_products(tx: WriteTransaction, product_ids: Sequence[int]) -> list[ProductRow]:
    """Products locked in id order, the order any writer of several takes them in: no deadlock
    (PostgreSQL sorts before it locks)."""
    stmt = (
        select(*products.c).where(products.c.id.in_(product_ids)).order_by(products.c.id)
    ).with_for_update()
    return [product_row(row) for row in await tx.session.execute(stmt)]


async def category(tx: WriteTransaction, category_id: int, field: str) -> CategoryRow:
    row = (
        await tx.session.execute(select(*categories.c).where(categories.c.id == category_id))
    ).first()
    if row is None:
        raise WriteError.one(field, "No category has this id.", UserErrorCode.NOT_FOUND)
    return category_row(row)


async def category_chain(tx: WriteTransaction, category_id: int) -> list[int]:
    """The category and its ancestors, root first."""
    row = await category(tx, category_id, "categoryId")
    return [*row.ancestor_ids, row.id]


def check_expected(current: datetime, expected: datetime | None) -> None:
    if expected is not None and current != expected:
        raise WriteError.one(
            "expectedUpdatedAt",
            f"The object changed at {current.isoformat()}; reload it and try again.",
            UserErrorCode.CONFLICT,
        )


async def taken(
    tx: WriteTransaction, table: Table, column: str, value: str, own_id: int | None
) -> bool:
    stmt = select(table.c.id).where(table.c[column] == value)
    if own_id is not None:
        stmt = stmt.where(table.c.id != own_id)
    return (await tx.session.execute(stmt.limit(1))).first() is not None


def unique_violation(error: IntegrityError, field: str) -> WriteError:
    """A concurrent writer took the value between our check and our insert."""
    return WriteError.one(field, f"`{field}` is already in use.", UserErrorCode.TAKEN)
