"""categoryCreate, categoryUpdate (including moves), categoryDelete."""

from datetime import datetime
from typing import Any

import strawberry

from db.writes import categories as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.category import Category
from graph.types.mutation_inputs import CategoryCreateInput, CategoryUpdateInput
from graph.types.payloads import CategoryDeletePayload, CategoryPayload

UNSET = writes.UNSET


def _given(value: Any) -> Any:
    return UNSET if value is None else value


def _parent(value: Any) -> Any:
    if value is strawberry.UNSET:
        return UNSET
    return None if value is None else ids.decode_as(str(value), "Category")


async def create(context: Context, given: CategoryCreateInput) -> CategoryPayload:
    data = writes.CategoryInput(
        slug=given.slug,
        name=given.name,
        description=_given(given.description),
        parent_id=_parent(given.parent_id),
        position=_given(given.position),
    )
    row, errors = await perform(context, lambda tx: writes.create_category(tx, data))
    return CategoryPayload(
        category=None if row is None else Category.from_row(row), user_errors=errors
    )


async def update(
    context: Context, id_: str, given: CategoryUpdateInput, expected: datetime | None
) -> CategoryPayload:
    key = ids.decode_as(id_, "Category")
    data = writes.CategoryInput(
        slug=_given(given.slug),
        name=_given(given.name),
        description=_given(given.description),
        parent_id=_parent(given.parent_id),
        position=_given(given.position),
    )
    row, errors = await perform(context, lambda tx: writes.update_category(tx, key, data, expected))
    return CategoryPayload(
        category=None if row is None else Category.from_row(row), user_errors=errors
    )


async def delete(context: Context, id_: str, expected: datetime | None) -> CategoryDeletePayload:
    key = ids.decode_as(id_, "Category")
    _, errors = await perform(context, lambda tx: writes.delete_category(tx, key, expected))
    return CategoryDeletePayload(
        deleted_category_id=None if errors else strawberry.ID(id_), user_errors=errors
    )
