"""Variants: prices, stock and options. Every change also refreshes the product's price range."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from db.models import ChangeKind, utcnow, variants
from db.queries.variants import variants_by_ids
from db.rows import ProductRow, VariantRow
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.products import touch_product, touch_products
from db.writes.unit import WriteTransaction
from db.writes.validation import MAX_QUANTITY, Checker

UNSET: Any = object()
FIELD_NAMES = {
    "sku": "sku",
    "name": "name",
    "selected_options": "selectedOptions",
    "price": "price",
    "compare_at_price": "compareAtPrice",
    "quantity": "quantityAvailable",
    "position": "position",
}


@dataclass(frozen=True, slots=True)
class VariantInput:
    """Fields to set; UNSET leaves a field as is (compare_at_price=None clears it)."""

    sku: str = UNSET
    name: str = UNSET
    selected_options: list[tuple[str, str]] = UNSET
    price: Decimal = UNSET
    compare_at_price: Decimal | None = UNSET
    currency: str = UNSET
    quantity: int = UNSET
    position: int = UNSET

    def values(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in FIELD_NAMES if getattr(self, k) is not UNSET}
        if "selected_options" in out:
            out["selected_options"] = [{"name": n, "value": v} for n, v in out["selected_options"]]
        return out


def money_values(values: dict[str, Any]) -> dict[str, Any] | None:
    """Prices that changed, as strings: what price history reads back from the change log."""
    money = {
        FIELD_NAMES[k]: None if v is None else str(v)
        for k, v in values.items()
        if k in ("price", "compare_at_price")
    }
    return money or None


def _check(given: VariantInput) -> None:
    checker = Checker()
    if given.sku is not UNSET:
        checker.text("sku", given.sku, max_length=64)
    if given.name is not UNSET:
        checker.text("name", given.name, max_length=255)
    if given.selected_options is not UNSET:
        if len(given.selected_options) > 10:
            checker.fail("selectedOptions", "At most 10 options.", UserErrorCode.TOO_LONG)
        for name, value in given.selected_options:
            checker.text("selectedOptions", name, max_length=100)
            checker.text("selectedOptions", value, max_length=255)
    if given.price is not UNSET:
        checker.price("price", given.price)
    if given.compare_at_price not in (UNSET, None):
        checker.price("compareAtPrice", given.compare_at_price)
    if given.currency is not UNSET:
        checker.currency("currency", given.currency)
    if given.quantity is not UNSET:
        checker.quantity("quantity", given.quantity)
    if given.position is not UNSET and not 0 <= given.position <= 1_000_000:
        checker.fail("position", "`position` must be between 0 and 1000000.", UserErrorCode.INVALID)
    if checker.errors:
        raise WriteError(checker.errors)


async def _reload(tx: WriteTransaction, variant_id: int) -> VariantRow:
    return (await variants_by_ids(session=tx.session, ids=[variant_id]))[0]


async def _check_sku(tx: WriteTransaction, sku: str, own_id: int | None) -> None:
    if sku is not UNSET and await common.taken(tx, variants, "sku", sku, own_id):
        raise WriteError.one(("input", "sku"), f"The SKU {sku!r} is taken.", UserErrorCode.TAKEN)


def _check_currency(product: ProductRow, given: VariantInput) -> None:
    if given.currency is not UNSET and given.currency != product.currency:
        raise WriteError.one(
            ("input", "currency"),
            f"Variants of this product are priced in {product.currency}.",
            UserErrorCode.CURRENCY_MISMATCH,
        )


async def _variant_product(tx: WriteTransaction, variant_id: int, field: str) -> ProductRow:
    """Lock the variant's product first: every writer of a product's variants queues there."""
    owner = await tx.session.execute(
        select(variants.c.product_id).where(variants.c.id == variant_id)
    )
    product_id = owner.scalar()
    if product_id is None:
        raise WriteError.one(field, "No variant has this id.", UserErrorCode.NOT_FOUND)
    return await common.locked_product(tx, product_id, field)


async def create_variant(tx: WriteTransaction, product_id: int, given: VariantInput) -> VariantRow:
    missing = [f for f in ("sku", "name", "price") if getattr(given, f) is UNSET]
    if missing:
        raise WriteError.one(
            ("input", missing[0]), f"`{missing[0]}` is required.", UserErrorCode.BLANK
        )
    _check(given)
    product = await common.locked_product(tx, product_id, "productId")
    _check_currency(product, given)
    await _check_sku(tx, given.sku, None)
    values = {"selected_options": [], "compare_at_price": None, "quantity": 0, **given.values()}
    if "position" not in values:
        last = await tx.session.scalar(
            select(func.max(variants.c.position)).where(variants.c.product_id == product_id)
        )
        values["position"] = 0 if last is None else last + 1
    now = utcnow()
    try:
        result = await tx.session.execute(
            insert(variants).returning(variants.c.id),
            {
                **values,
                "product_id": product_id,
                "currency": product.currency,
                "created_at": now,
                "updated_at": now,
            },
        )
    except IntegrityError as error:
        raise common.unique_violation(error, "sku") from None
    variant_id = result.scalar_one()
    chain = await common.category_chain(tx, product.category_id)
    tx.record(
        "ProductVariant",
        variant_id,
        ChangeKind.CREATED,
        {FIELD_NAMES[k] for k in values},
        chain,
        money_values(values),
    )
    await touch_product(tx, product, {"variants"}, chain)
    return await _reload(tx, variant_id)


async def update_variant(
    tx: WriteTransaction, variant_id: int, given: VariantInput, expected: datetime | None
) -> VariantRow:
    _check(given)
    product = await _variant_product(tx, variant_id, "id")
    _check_currency(product, given)
    current = await common.locked(tx, variants, variant_id)
    assert current is not None  # the product lock keeps it from being deleted meanwhile
    common.check_expected(current.updated_at, expected)
    changed = {k: v for k, v in given.values().items() if getattr(current, k) != v}
    if not changed:
        return await _reload(tx, variant_id)
    await _check_sku(tx, changed.get("sku", UNSET), variant_id)
    try:
        await tx.session.execute(
            update(variants)
            .where(variants.c.id == variant_id)
            .values(**changed, updated_at=utcnow())
        )
    except IntegrityError as error:
        raise common.unique_violation(error, "sku") from None
    chain = await common.category_chain(tx, product.category_id)
    tx.record(
        "ProductVariant",
        variant_id,
        ChangeKind.UPDATED,
        {FIELD_NAMES[k] for k in changed},
        chain,
        money_values(changed),
    )
    await touch_product(tx, product, {"variants"}, chain)
    return await _reload(tx, variant_id)


async def delete_variant(tx: WriteTransaction, variant_id: int, expected: datetime | None) -> int:
    product = await _variant_product(tx, variant_id, "id")
    current = await common.locked(tx, variants, variant_id)
    assert current is not None
    common.check_expected(current.updated_at, expected)
    await tx.session.execute(delete(variants).where(variants.c.id == variant_id))
    chain = await common.category_chain(tx, product.category_id)
    tx.record("ProductVariant", variant_id, ChangeKind.DELETED, (), chain)
    await touch_product(tx, product, {"variants"}, chain)
    return product.id


async def adjust_stock(tx: WriteTransaction, variant_id: int, delta: int) -> VariantRow:
    """Atomic: the condition and the change are one UPDATE, so stock never goes below zero."""
    product = await _variant_product(tx, variant_id, "variantId")
    if delta == 0:
        return await _reload(tx, variant_id)
    # A BIGINT delta keeps `quantity + delta` from overflowing INTEGER before it is compared.
    after = variants.c.quantity + literal(delta, BigInteger())
    result = await tx.session.execute(
        update(variants)
        .where(variants.c.id == variant_id, after >= 0, after <= MAX_QUANTITY)
        .values(quantity=after, updated_at=utcnow())
        .returning(variants.c.quantity)
    )
    if result.first() is None:
        if delta > 0:
            raise WriteError.one(
                "delta", f"Stock cannot exceed {MAX_QUANTITY}.", UserErrorCode.TOO_LARGE
            )
        raise WriteError.one(
            "delta", "Not enough stock for this adjustment.", UserErrorCode.INSUFFICIENT_STOCK
        )
    chain = await common.category_chain(tx, product.category_id)
    tx.record("ProductVariant", variant_id, ChangeKind.UPDATED, {"quantityAvailable"}, chain)
    await touch_product(tx, product, {"variants"}, chain)
    return await _reload(tx, variant_id)


# A batch's new prices in one executemany.
_SET_PRICE = (
    update(variants).where(variants.c.id == bindparam("key")).values(price=bindparam("new_price"))
)


async def reprice_variants(
    tx: WriteTransaction, variant_ids: Sequence[int], reprice: Callable[[Decimal], Decimal]
) -> int:
    """Bulk jobs: each new price is `reprice` of the price read under lock in this transaction,
    so concurrent jobs compose (two +1.00 make +2.00). Each changed product's range is refreshed
    once. Returns how many prices changed."""
    owners = await tx.session.scalars(
        select(variants.c.product_id).where(variants.c.id.in_(variant_ids)).distinct()
    )
    locked = await common.locked_products(tx, sorted(owners))
    current = await tx.session.execute(
        select(variants.c.id, variants.c.product_id, variants.c.price)
        .where(variants.c.id.in_(variant_ids))
        .order_by(variants.c.id)
        .with_for_update()
    )
    checker = Checker(("prices",))
    by_product: dict[int, list[tuple[int, Decimal]]] = {}
    for variant_id, product_id, price in current:
        new = reprice(price)
        if new != price:
            checker.price("price", new)
            by_product.setdefault(product_id, []).append((variant_id, new))
    if checker.errors:
        raise WriteError(checker.errors)
    if not by_product:
        return 0
    await tx.session.execute(
        _SET_PRICE.values(updated_at=utcnow()),
        [{"key": v, "new_price": p} for changed in by_product.values() for v, p in changed],
    )
    chains: dict[int, list[int]] = {}
    touched: list[tuple[ProductRow, list[int]]] = []
    for product in locked:
        if product.id not in by_product:
            continue
        if product.category_id not in chains:
            chains[product.category_id] = await common.category_chain(tx, product.category_id)
        chain = chains[product.category_id]
        for variant_id, price in by_product[product.id]:
            tx.record(
                "ProductVariant",
                variant_id,
                ChangeKind.UPDATED,
                ("price",),
                chain,
                {"price": str(price)},
            )
        touched.append((product, chain))
    await touch_products(tx, touched, {"variants"})
    return sum(len(changed) for changed in by_product.values())
