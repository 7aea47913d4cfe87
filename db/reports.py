"""The product report: the job that starts it, and the price history it reads from changes."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import create_job
from db.models import changes, products
from db.queries.changes import COLUMNS as CHANGE_COLUMNS
from db.queries.changes import to_row as change_row
from db.rows import ChangeRow, JobRow
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction

KIND = "product_report"
VARIANT = "ProductVariant"


async def start_product_report(tx: WriteTransaction, product_id: int) -> JobRow:
    found = await tx.session.scalar(select(products.c.id).where(products.c.id == product_id))
    if found is None:
        raise WriteError.one("productId", "No product has this id.", UserErrorCode.NOT_FOUND)
    return await create_job(tx, KIND, {"product_id": product_id})


async def price_changes(*, session: AsyncSession, variant_ids: Sequence[int]) -> list[ChangeRow]:
    """Changes to these variants that set a price, oldest first (change rows keep new prices
    in `values`, as strings)."""
    stmt = (
        select(*CHANGE_COLUMNS)
        .where(changes.c.entity_type == VARIANT, changes.c.entity_id.in_(variant_ids))
        .order_by(changes.c.id)
    )
    rows = [change_row(row) for row in await session.execute(stmt)]
    return [row for row in rows if row.values and row.values.get("price") is not None]
