"""Runs one write in its own transaction and turns refusals into user errors."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from db.rows import ProductRow
from db.writes.errors import WriteError
from db.writes.unit import WriteTransaction, write_transaction
from graph.context import Context
from graph.types.product import Product
from graph.types.user_error import UserError, UserErrorCode

T = TypeVar("T")


async def perform(
    context: Context, write: Callable[[WriteTransaction], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    try:
        async with write_transaction(context.sessions, context.viewer.subject) as tx:
            result = await write(tx)
    except WriteError as error:
        return None, [
            UserError(field=list(e.field), message=e.message, code=UserErrorCode[e.code.name])
            for e in error.errors
        ]
    context.after_write()
    return result, []


async def product(context: Context, product_id: int | None) -> Product | None:
    if product_id is None:
        return None
    row: ProductRow | None = await context.loaders.product_by_id.load(product_id)
    return None if row is None else Product.from_row(row)
