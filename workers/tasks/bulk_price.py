"""productsBulkPriceUpdate: change every price in a category, batch by batch, exactly once.

Each batch's new prices and the job's checkpoint commit in one transaction, so a job
redelivered after a crash resumes after the last committed batch and never applies a
change twice.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from db import jobs
from db.queries.variants import count_variants_in_category, variant_prices_in_category
from db.rows import JobRow
from db.writes.errors import WriteError
from db.writes.unit import write_transaction
from db.writes.variants import set_prices
from workers.errors import PermanentError
from workers.jobs import ACTOR
from workers.runtime import Runtime

CENTS = Decimal("0.01")


def new_price(price: Decimal, args: dict[str, Any]) -> Decimal:
    if args.get("percent") is not None:
        changed = price * (1 + Decimal(args["percent"]) / 100)
    else:
        changed = price + Decimal(args["amount"])
    return max(changed, Decimal(0)).quantize(CENTS, rounding=ROUND_HALF_UP)


async def bulk_price_update(runtime: Runtime, job: JobRow) -> dict[str, Any]:
    args = job.args
    category_id, include = int(args["category_id"]), bool(args.get("include_subcategories", True))
    checkpoint = job.checkpoint or {}
    after, done = int(checkpoint.get("after", 0)), int(checkpoint.get("done", 0))
    async with runtime.sessions() as session:
        total = checkpoint.get("total") or await count_variants_in_category(
            session=session, category_id=category_id, include_subcategories=include
        )
    while True:
        async with runtime.sessions() as session:
            batch = await variant_prices_in_category(
                session=session,
                category_id=category_id,
                include_subcategories=include,
                after_id=after,
                limit=runtime.settings.bulk_batch_size,
            )
        if not batch:
            return {"variantsChanged": done, "variantsSeen": total}
        prices = {variant_id: new_price(price, args) for variant_id, price in batch}
        async with write_transaction(runtime.sessions, ACTOR) as tx:
            try:
                await set_prices(tx, prices)
            except WriteError as error:  # a price out of range: retrying cannot help
                raise PermanentError(str(error)) from error
            after, done = batch[-1][0], done + len(batch)
            fraction = done / total if total else 1.0
            await jobs.progress(
                tx, job.id, fraction, {"after": after, "done": done, "total": total}
            )
