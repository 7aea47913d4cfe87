"""productReport: one product's views, price history and stock, as the job's result.

Ids in the result are the API's global ids, so a client can pass them straight to `node(id:)`.
"""

from typing import Any

from db.global_ids import encode as global_id
from db.queries.products import products_by_ids
from db.queries.variants import variants_by_product_ids
from db.reports import price_changes
from db.rows import JobRow
from db.views import view_counts_by_product_ids
from workers.errors import PermanentError
from workers.runtime import Runtime


async def product_report(runtime: Runtime, job: JobRow) -> dict[str, Any]:
    product_id = int(job.args["product_id"])
    async with runtime.sessions() as session:
        if not await products_by_ids(session=session, ids=[product_id]):
            raise PermanentError(
                f"Product {global_id('Product', product_id)} no longer exists: "
                "it was deleted before its report ran."
            )
        variants = await variants_by_product_ids(session=session, product_ids=[product_id])
        views = await view_counts_by_product_ids(session=session, product_ids=[product_id])
        history = await price_changes(session=session, variant_ids=[v.id for v in variants])
    return {
        "productId": global_id("Product", product_id),
        "views": views.get(product_id, 0),
        "priceHistory": [
            {
                "sequence": change.id,
                "occurredAt": change.occurred_at.isoformat(),
                "variantId": global_id("ProductVariant", change.entity_id),
                "price": (change.values or {})["price"],
            }
            for change in history
        ],
        "stock": [
            {"variantId": global_id("ProductVariant", v.id), "sku": v.sku, "quantity": v.quantity}
            for v in variants
        ],
    }
