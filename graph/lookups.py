"""`product(id|slug)`, `category(id|slug)` and a variant by SKU: hidden rows become null.

Both executors use these: they return rows, and each wraps them its own way.
"""

from collections.abc import Awaitable
from typing import TypeVar

from db.rows import CategoryRow, ProductRow, VariantRow
from graph import ids, nodes
from graph.context import Context, Loaders
from graph.errors import BadUserInput
from graph.loaders.base import SessionLoader
from graph.validation import check_text

K = TypeVar("K")
V = TypeVar("V")


def _one(loaders: Loaders, loader: SessionLoader[K, V], key: K) -> Awaitable[V]:
    """The loader's value for `key`: loaded in this task when no other load can join it."""
    return loader.fetch(key) if loaders.alone else loader.load(key)


def _one_key(id_: str | None, slug: str | None) -> None:
    if (id_ is None) == (slug is None):
        raise BadUserInput("Pass exactly one of `id` and `slug`.")


async def product(
    context: Context,
    id_: str | None,
    slug: str | None,
    *,
    with_category: bool = False,
    with_ancestors: bool = False,
    with_variants: bool = False,
    with_images: bool = False,
) -> ProductRow | None:
    """`with_category`, `with_ancestors`, `with_variants`, `with_images`: the operation shows
    the product's category (its category's ancestors or parent, its variants, its images), which
    a lookup by slug then brings in the same statement."""
    _one_key(id_, slug)
    loaders = context.loaders
    if id_ is not None:
        row = await _one(loaders, loaders.product_by_id, ids.decode_as(id_, "Product"))
    else:
        by_slug = (
            loaders.product_with_details_by_slug(with_ancestors, with_variants, with_images)
            if with_category or with_ancestors or with_variants or with_images
            else loaders.product_by_slug
        )
        row = await _one(loaders, by_slug, check_text("slug", slug or ""))
    return row if row and context.viewer.can_see(row) else None


async def category(context: Context, id_: str | None, slug: str | None) -> CategoryRow | None:
    _one_key(id_, slug)
    loaders = context.loaders
    if id_ is not None:
        return await _one(loaders, loaders.category_by_id, ids.decode_as(id_, "Category"))
    return await _one(loaders, loaders.category_by_slug, check_text("slug", slug or ""))


async def variant(context: Context, sku: str) -> VariantRow | None:
    loaders = context.loaders
    row = await _one(loaders, loaders.variant_by_sku, check_text("sku", sku))
    return await nodes.visible_variant(context, row)
