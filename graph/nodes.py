"""Resolves global ids to objects the viewer may see, batching through the loaders."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graph import ids
from graph.context import Context
from graph.errors import BadUserInput
from graph.types.category import Category
from graph.types.image import ProductImage
from graph.types.job import Job
from graph.types.node import Node
from graph.types.product import Product
from graph.types.variant import ProductVariant
from graph.types.webhook import Webhook
from graph.viewer import Role

MAX_NODES = 100


async def _product(context: Context, key: int) -> Product | None:
    row = await context.loaders.product_by_id.load(key)
    return Product.from_row(row) if row and context.viewer.can_see(row) else None


async def _variant(context: Context, key: int) -> ProductVariant | None:
    row = await context.loaders.variant_by_id.load(key)
    if row is None or await _product(context, row.product_id) is None:
        return None
    return ProductVariant.from_row(row)


async def _image(context: Context, key: int) -> ProductImage | None:
    row = await context.loaders.image_by_id.load(key)
    if row is None or await _product(context, row.product_id) is None:
        return None
    return ProductImage.from_row(row)


async def _category(context: Context, key: int) -> Category | None:
    return Category.from_optional(await context.loaders.category_by_id.load(key))


async def _job(context: Context, key: int) -> Job | None:
    if not context.viewer.is_staff:
        return None
    row = await context.loaders.job_by_id.load(key)
    return None if row is None else Job.from_row(row)


async def _webhook(context: Context, key: int) -> Webhook | None:
    if context.viewer.role is not Role.ADMIN:
        return None
    row = await context.loaders.webhook_by_id.load(key)
    return None if row is None else Webhook.from_row(row)


RESOLVERS: dict[str, Callable[[Context, int], Awaitable[Any]]] = {
    "Product": _product,
    "ProductVariant": _variant,
    "ProductImage": _image,
    "Category": _category,
    "Job": _job,
    "Webhook": _webhook,
}


def _parse(global_id: str) -> tuple[str, int]:
    type_name, key = ids.decode(global_id)
    if type_name not in RESOLVERS:
        raise BadUserInput(f"Id {global_id[:100]!r} names no known type.")
    return type_name, key


async def node(context: Context, global_id: str) -> Node | None:
    type_name, key = _parse(global_id)
    result: Node | None = await RESOLVERS[type_name](context, key)
    return result


async def nodes(context: Context, global_ids: Sequence[str]) -> list[Node | None]:
    if len(global_ids) > MAX_NODES:
        raise BadUserInput(f"`ids` holds at most {MAX_NODES} ids; got {len(global_ids)}.")
    parsed = [_parse(global_id) for global_id in global_ids]
    return list(await asyncio.gather(*(RESOLVERS[t](context, k) for t, k in parsed)))
