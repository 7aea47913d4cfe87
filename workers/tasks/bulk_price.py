"""productsBulkPriceUpdate: change every price in a category, batch by batch, exactly once.

Each batch is one transaction that holds the job's lease, reads its checkpoint, reprices the
next variants from their prices read under lock, and commits the new checkpoint: a job resumed
after a crash starts after the last committed batch, and jobs that run at once compose.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from db import jobs, leases
from db.queries.variants import count_variants_in_category, variant_ids_in_category
from db.rows import JobRow
from db.writes.errors import WriteError
from db.writes.unit import write_transaction
from db.writes.variants import reprice_variants
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
    total = (job.checkpoint or {}).get("total")
    if total is None:
        async with runtime.sessions() as session:
            total = await count_variants_in_category(
                session=session, category_id=category_id, include_subcategories=include
            )
    while True:
        async with write_transaction(runtime.sessions, ACTOR) as tx:
            checkpoint = await leases.hold(tx, job, runtime.settings.job_lease_seconds)
            after, seen = int(checkpoint.get("after", 0)), int(checkpoint.get("done", 0))
            # Checkpoints written before `changed` was counted apart changed every variant seen.
            changed = int(checkpoint.get("changed", seen))
            batch = await variant_ids_in_category(
                session=tx.session,
                category_id=category_id,
                include_subcategories=include,
                after_id=after,
                limit=runtime.settings.bulk_batch_size,
            )
            if not batch:
                return {"variantsChanged": changed, "variantsSeen": seen}
            try:
                changed += await reprice_variants(tx, batch, partial(new_price, args=args))
            except WriteError as error:  # a price out of range: retrying cannot help
                raise PermanentError(str(error)) from error
            seen += len(batch)
            checkpoint = {"after": batch[-1], "done": seen, "changed": changed, "total": total}
            await jobs.progress(tx, job, seen / total if total else 1.0, checkpoint)
