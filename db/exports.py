"""The catalog export: the job that starts it, and the rows it reads, batch by batch.

Batches are keyset pages over product ids (never OFFSET): each reads the next `limit` products
that match the filter, with their category and variants, in one statement.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.jobs import create_job
from db.models import ProductStatus, categories, products, variants
from db.queries.products import ProductFilter, filtered
from db.rows import JobRow
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction

KIND = "catalog_export"


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One product with one of its variants; the variant fields are None for a product without."""

    product_id: int
    product_slug: str
    product_name: str
    status: ProductStatus
    category_slug: str
    currency: str
    sku: str | None
    variant_name: str | None
    price: Decimal | None
    compare_at_price: Decimal | None
    quantity: int | None


def filter_args(flt: ProductFilter) -> dict[str, Any]:
    """The filter as JSON for the job's args; money as strings."""
    return {
        "statuses": [status.value for status in flt.statuses],
        "category_id": flt.category_id,
        "min_price": None if flt.min_price is None else str(flt.min_price),
        "max_price": None if flt.max_price is None else str(flt.max_price),
        "in_stock": flt.in_stock,
    }


def filter_from_args(args: dict[str, Any]) -> ProductFilter:
    given = args["filter"]
    return ProductFilter(
        statuses=tuple(ProductStatus(status) for status in given["statuses"]),
        category_id=given["category_id"],
        min_price=None if given["min_price"] is None else Decimal(given["min_price"]),
        max_price=None if given["max_price"] is None else Decimal(given["max_price"]),
        in_stock=given["in_stock"],
    )


async def start_catalog_export(tx: WriteTransaction, flt: ProductFilter) -> JobRow:
    """The job carries a random token: the file's name includes it, so nobody can guess it."""
    for field, price in (("minPrice", flt.min_price), ("maxPrice", flt.max_price)):
        if price is not None and not price.is_finite():
            raise WriteError.one(("filter", field), "Give a finite price.", UserErrorCode.INVALID)
    if flt.category_id is not None:
        found = await tx.session.scalar(
            select(categories.c.id).where(categories.c.id == flt.category_id)
        )
        if found is None:
            raise WriteError.one(
                ("filter", "categoryId"), "No category has this id.", UserErrorCode.NOT_FOUND
            )
    args = {"filter": filter_args(flt), "token": secrets.token_urlsafe(24)}
    return await create_job(tx, KIND, args)


async def count_products(*, session: AsyncSession, flt: ProductFilter) -> int:
    inner = filtered(select(products.c.id), flt).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def export_batch(
    *, session: AsyncSession, flt: ProductFilter, after_id: int, limit: int
) -> list[ExportLine]:
    """The next `limit` matching products after `after_id`, each with its variants in position
    order (a product without variants gives one line)."""
    page = (
        filtered(select(products.c.id), flt)
        .where(products.c.id > after_id)
        .order_by(products.c.id)
        .limit(limit)
        .subquery("page")
    )
    stmt = (
        select(
            products.c.id,
            products.c.slug,
            products.c.name,
            products.c.status,
            categories.c.slug,
            products.c.currency,
            variants.c.sku,
            variants.c.name,
            variants.c.price,
            variants.c.compare_at_price,
            variants.c.quantity,
        )
        .select_from(page)
        .join(products, products.c.id == page.c.id)
        .join(categories, categories.c.id == products.c.category_id)
        .outerjoin(variants, variants.c.product_id == products.c.id)
        .order_by(products.c.id, variants.c.position, variants.c.id)
    )
    return [ExportLine(*row) for row in await session.execute(stmt)]
