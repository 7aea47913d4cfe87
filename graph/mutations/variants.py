"""variantCreate, variantUpdate, variantDelete, stockAdjust."""

from datetime import datetime
from typing import Any

import strawberry

from db.writes import variants as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform, product
from graph.types.mutation_inputs import SelectedOptionInput, VariantCreateInput, VariantUpdateInput
from graph.types.payloads import VariantDeletePayload, VariantPayload
from graph.types.variant import ProductVariant

UNSET = writes.UNSET


def _given(value: Any) -> Any:
    return UNSET if value is None or value is strawberry.UNSET else value


def _options(options: list[SelectedOptionInput] | None) -> Any:
    return UNSET if options is None else [(o.name, o.value) for o in options]


async def create(context: Context, product_id: str, given: VariantCreateInput) -> VariantPayload:
    key = ids.decode_as(product_id, "Product")
    data = writes.VariantInput(
        sku=given.sku,
        name=given.name,
        price=given.price,
        selected_options=_options(given.selected_options),
        compare_at_price=_given(given.compare_at_price),
        currency=_given(given.currency),
        quantity=_given(given.quantity),
        position=_given(given.position),
    )
    row, errors = await perform(context, lambda tx: writes.create_variant(tx, key, data))
    return VariantPayload(
        variant=None if row is None else ProductVariant.from_row(row), user_errors=errors
    )


async def update(
    context: Context, id_: str, given: VariantUpdateInput, expected: datetime | None
) -> VariantPayload:
    key = ids.decode_as(id_, "ProductVariant")
    compare_at = given.compare_at_price
    data = writes.VariantInput(
        sku=_given(given.sku),
        name=_given(given.name),
        price=_given(given.price),
        selected_options=_options(given.selected_options),
        compare_at_price=UNSET if compare_at is strawberry.UNSET else compare_at,
        quantity=_given(given.quantity),
        position=_given(given.position),
    )
    row, errors = await perform(context, lambda tx: writes.update_variant(tx, key, data, expected))
    return VariantPayload(
        variant=None if row is None else ProductVariant.from_row(row), user_errors=errors
    )


async def delete(context: Context, id_: str, expected: datetime | None) -> VariantDeletePayload:
    key = ids.decode_as(id_, "ProductVariant")
    product_id, errors = await perform(context, lambda tx: writes.delete_variant(tx, key, expected))
    return VariantDeletePayload(
        deleted_variant_id=None if errors else strawberry.ID(id_),
        product=await product(context, product_id),
        user_errors=errors,
    )


async def adjust_stock(context: Context, variant_id: str, delta: int) -> VariantPayload:
    key = ids.decode_as(variant_id, "ProductVariant")
    row, errors = await perform(context, lambda tx: writes.adjust_stock(tx, key, delta))
    return VariantPayload(
        variant=None if row is None else ProductVariant.from_row(row), user_errors=errors
    )
