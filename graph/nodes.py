"""Resolves global ids to the rows the viewer may see, batching through the loaders; both
executors wrap the rows their own way."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from db.rows import CategoryRow, ImageRow, JobRow, ProductRow, VariantRow, WebhookRow
from graph import ids
from graph.context import Context
from graph.errors import BadUserInput
from graph.viewer import Role

MAX_NODES = 100


async def _product(context: Context, key: int) -> ProductRow | None:
    row = await context.loaders.product_by_id.load(key)
    return row if row and context.viewer.can_see(row) else None


async def _variant(context: Context, key: int) -> VariantRow | None:
    return await visible_variant(context, await context.loaders.variant_by_id.load(key))


async def visible_variant(context: Context, row: VariantRow | None) -> VariantRow | None:
    """A variant is seen with its product."""
    if row is None or await _product(context, row.product_id) is None:
        return None
    return row


async def _image(context: Context, key: int) -> ImageRow | None:
    row = await context.loaders.image_by_id.load(key)
    if row is None or await _product(context, row.product_id) is None:
        return None
    return row


async def _category(context: Context, key: int) -> CategoryRow | None:
    return await context.loaders.category_by_id.load(key)


async def _job(context: Context, key: int) -> JobRow | None:
    if not context.viewer.is_staff:
        return None
    return await context.loaders.job_by_id.load(key)


async def _webhook(context: Context, key: int) -> WebhookRow | None:
    if context.viewer.role is not Role.ADMIN:
        return None
    return await context.loaders.webhook_by_id.load(key)


RESOLVERS: dict[str, Callable[[Context, int], Awaitable[Any]]] = {
    "Product": _product,
    "ProductVariant": _variant,
    "ProductImage": _image,
    "Category": _category,
    "Job": _job,
    "Webhook": _webhook,
}
# Each row's GraphQL type, for the executors to tell what a node is.
TYPE_NAMES: dict[type, str] = {
    ProductRow: "Product",
    VariantRow: "ProductVariant",
    ImageRow: "ProductImage",
    CategoryRow: "Category",
    JobRow: "Job",
    WebhookRow: "Webhook",
}


def _parse(global_id: str) -> tuple[str, int]:
    type_name, key = ids.decode(global_id)
    if type_name not in RESOLVERS:
        raise BadUserInput(f"Id {global_id[:100]!r} names no known type.")
    return type_name, key


async def node(context: Context, global_id: str) -> Any | None:
    """The row behind a global id, if the viewer may see it."""
    type_name, key = _parse(global_id)
    return await RESOLVERS[type_name](context, key)


async def nodes(context: Context, global_ids: Sequence[str]) -> list[Any | None]:
    if len(global_ids) > MAX_NODES:
        raise BadUserInput(f"`ids` holds at most {MAX_NODES} ids; got {len(global_ids)}.")
    parsed = [_parse(global_id) for global_id in global_ids]
    return list(await asyncio.gather(*(RESOLVERS[t](context, k) for t, k in parsed)))
