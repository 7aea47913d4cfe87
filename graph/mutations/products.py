"""productCreate, productUpdate, productDelete."""

from datetime import datetime

import strawberry

from db.writes import products as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.mutation_inputs import ProductCreateInput, ProductUpdateInput
from graph.types.payloads import ProductDeletePayload, ProductPayload
from graph.types.product import Product


def _category(value: str | None) -> int | None:
    return None if value is None else ids.decode_as(value, "Category")


async def create(context: Context, given: ProductCreateInput) -> ProductPayload:
    data = writes.ProductInput(
        slug=given.slug,
        name=given.name,
        description=given.description,
        status=given.status,
        category_id=_category(given.category_id),
        currency=given.currency,
    )
    row, errors = await perform(context, lambda tx: writes.create_product(tx, data))
    return ProductPayload(
        product=None if row is None else Product.from_row(row), user_errors=errors
    )


async def update(
    context: Context, id_: str, given: ProductUpdateInput, expected: datetime | None
) -> ProductPayload:
    product_id = ids.decode_as(id_, "Product")
    data = writes.ProductInput(
        slug=given.slug,
        name=given.name,
        description=given.description,
        status=given.status,
        category_id=_category(given.category_id),
        currency=given.currency,
    )
    row, errors = await perform(
        context, lambda tx: writes.update_product(tx, product_id, data, expected)
    )
    return ProductPayload(
        product=None if row is None else Product.from_row(row), user_errors=errors
    )


async def delete(context: Context, id_: str, expected: datetime | None) -> ProductDeletePayload:
    product_id = ids.decode_as(id_, "Product")
    _, errors = await perform(context, lambda tx: writes.delete_product(tx, product_id, expected))
    return ProductDeletePayload(
        deleted_product_id=None if errors else strawberry.ID(id_), user_errors=errors
    )
