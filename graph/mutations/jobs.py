"""Mutations that start jobs."""

from decimal import Decimal

from db import jobs as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.job import Job, JobPayload


async def bulk_price_update(
    context: Context,
    category_id: str,
    percent: Decimal | None,
    amount: Decimal | None,
    include_subcategories: bool,
) -> JobPayload:
    key = ids.decode_as(category_id, "Category")
    row, errors = await perform(
        context,
        lambda tx: writes.start_bulk_price_update(tx, key, percent, amount, include_subcategories),
    )
    return JobPayload(job=None if row is None else Job.from_row(row), user_errors=errors)
