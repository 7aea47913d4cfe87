"""Creating, changing and deleting products."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from db.models import (
    ChangeKind,
    ProductStatus,
    images,
    product_view_counts,
    products,
    utcnow,
    variants,
)
from db.queries.products import products_by_ids
from db.rows import ProductRow
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction
from db.writes.validation import Checker

ZERO = Decimal("0.00")

# Database column -> the field name subscribers and the audit log see.
FIELD_NAMES = {
    "slug": "slug",
    "name": "name",
    "description": "description",
    "status": "status",
    "category_id": "category",
    "currency": "currency",
    "min_price": "priceRange",
    "max_price": "priceRange",
    "in_stock": "isAvailable",
}


@dataclass(frozen=True, slots=True)
class ProductInput:
    """Fields to set; None means "leave as is" on update (none of these can be cleared)."""

    slug: str | None = None
    name: str | None = None
    description: str | None = None
    status: ProductStatus | None = None
    category_id: int | None = None
    currency: str | None = None

    def values(self) -> dict[str, Any]:
        return {k: v for k in FIELD_NAMES if (v := getattr(self, k, None)) is not None}


def _check(given: ProductInput) -> None:
    checker = Checker()
    if given.slug is not None:
        checker.slug("slug", given.slug)
    if given.name is not None:
        checker.text("name", given.name, max_length=255)
    if given.description is not None:
        checker.text("description", given.description, max_length=20_000, blank_ok=True)
    if given.currency is not None:
        checker.currency("currency", given.currency)
    if checker.errors:
        raise WriteError(checker.errors)


async def _reload(tx: WriteTransaction, product_id: int) -> ProductRow:
    return (await products_by_ids(session=tx.session, ids=[product_id]))[0]


async def _check_slug(tx: WriteTransaction, slug: str | None, own_id: int | None) -> None:
    if slug is not None and await common.taken(tx, products, "slug", slug, own_id):
        raise WriteError.one(("input", "slug"), f"The slug {slug!r} is taken.", UserErrorCode.TAKEN)


async def create_product(tx: WriteTransaction, given: ProductInput) -> ProductRow:
    missing = [f for f in ("slug", "name", "category_id") if getattr(given, f) is None]
    if missing:
        raise WriteError.one(
            ("input", missing[0]), f"`{missing[0]}` is required.", UserErrorCode.BLANK
        )
    _check(given)
    chain = await common.category_chain(tx, given.category_id or 0)
    await _check_slug(tx, given.slug, None)
    now = utcnow()
    values = {
        "description": "",
        "status": ProductStatus.DRAFT,
        "currency": "USD",
        **given.values(),
        "created_at": now,
        "updated_at": now,
    }
    try:
        result = await tx.session.execute(insert(products).returning(products.c.id), values)
    except IntegrityError as error:
        raise common.unique_violation(error, "slug") from None
    product_id = result.scalar_one()
    fields = {FIELD_NAMES[k] for k in values if k in FIELD_NAMES}
    tx.record("Product", product_id, ChangeKind.CREATED, fields, chain, _status(values["status"]))
    return await _reload(tx, product_id)


async def update_product(
    tx: WriteTransaction, product_id: int, given: ProductInput, expected: datetime | None
) -> ProductRow:
    _check(given)
    current = await common.locked_product(tx, product_id, "id")
    common.check_expected(current.updated_at, expected)
    if given.currency is not None and given.currency != current.currency:
        has_variants = await tx.session.execute(
            select(variants.c.id).where(variants.c.product_id == product_id).limit(1)
        )
        if has_variants.first() is not None:
            raise WriteError.one(
                ("input", "currency"),
                "The currency of a product with variants cannot change.",
                UserErrorCode.CURRENCY_MISMATCH,
            )
    changed = {k: v for k, v in given.values().items() if getattr(current, k) != v}
    if not changed:
        return current
    chain = await common.category_chain(tx, current.category_id)
    if "category_id" in changed:
        chain += await common.category_chain(tx, changed["category_id"])
    await _check_slug(tx, changed.get("slug"), product_id)
    try:
        await tx.session.execute(
            update(products)
            .where(products.c.id == product_id)
            .values(**changed, updated_at=utcnow())
        )
    except IntegrityError as error:
        raise common.unique_violation(error, "slug") from None
    status = _status(changed.get("status", current.status), current.status)
    fields = {FIELD_NAMES[k] for k in changed}
    tx.record("Product", product_id, ChangeKind.UPDATED, fields, chain, status)
    return await _reload(tx, product_id)


async def delete_product(tx: WriteTransaction, product_id: int, expected: datetime | None) -> None:
    """A hard delete: ARCHIVED is the soft one. The change log keeps the record of it."""
    current = await common.locked_product(tx, product_id, "id")
    common.check_expected(current.updated_at, expected)
    chain = await common.category_chain(tx, current.category_id)
    for table, entity in ((variants, "ProductVariant"), (images, "ProductImage")):
        owned = await tx.session.execute(select(table.c.id).where(table.c.product_id == product_id))
        for (child_id,) in owned:
            tx.record(entity, child_id, ChangeKind.DELETED, (), chain)
        await tx.session.execute(delete(table).where(table.c.product_id == product_id))
    await tx.session.execute(
        delete(product_view_counts).where(product_view_counts.c.product_id == product_id)
    )
    await tx.session.execute(delete(products).where(products.c.id == product_id))
    tx.record("Product", product_id, ChangeKind.DELETED, (), chain, _status(None, current.status))


def _status(now: str | None, before: str | None = None) -> dict[str, str]:
    """The status after (and, when it changed or the product is gone, before) the change:
    subscribers decide from these who may see the change, as of when it happened."""
    found = {} if now is None else {"status": str(now)}
    if before is not None and before != now:
        found["previousStatus"] = str(before)
    return found


async def touch_product(
    tx: WriteTransaction, product: ProductRow, fields: set[str], chain: list[int]
) -> None:
    """Recompute the denormalised price range and stock after its variants or images changed."""
    await touch_products(tx, [(product, chain)], fields)


# Each product's new range and stock in one executemany.
_SET_SUMMARY = (
    update(products)
    .where(products.c.id == bindparam("key"))
    .values(
        min_price=bindparam("lowest"),
        max_price=bindparam("highest"),
        in_stock=bindparam("stocked"),
        updated_at=bindparam("at"),
    )
)


async def touch_products(
    tx: WriteTransaction, touched: Sequence[tuple[ProductRow, list[int]]], fields: set[str]
) -> None:
    """`touch_product` for many (product, category chain) pairs, in two statements."""
    if not touched:
        return
    summary = await tx.session.execute(
        select(
            variants.c.product_id,
            func.min(variants.c.price),
            func.max(variants.c.price),
            func.max(variants.c.quantity),
        )
        .where(variants.c.product_id.in_([product.id for product, _ in touched]))
        .group_by(variants.c.product_id)
    )
    found = {key: (lowest, highest, most > 0) for key, lowest, highest, most in summary}
    now = utcnow()
    rows = []
    for product, chain in touched:
        lowest, highest, stocked = found.get(product.id, (ZERO, ZERO, False))
        values = {"min_price": lowest, "max_price": highest, "in_stock": stocked}
        changed = fields | {FIELD_NAMES[k] for k, v in values.items() if getattr(product, k) != v}
        rows.append(
            {"key": product.id, "lowest": lowest, "highest": highest, "stocked": stocked, "at": now}
        )
        money = {"minPrice": str(lowest), "maxPrice": str(highest)}
        tx.record(
            "Product",
            product.id,
            ChangeKind.UPDATED,
            changed,
            chain,
            money | _status(product.status),
        )
    await tx.session.execute(_SET_SUMMARY, rows)
