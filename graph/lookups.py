"""`product(id|slug)`, `category(id|slug)` and a variant by SKU: hidden rows become null.

Both executors use these: they return rows, and each wraps them its own way.
"""

from db.rows import CategoryRow, ProductRow, VariantRow
from graph import ids, nodes
from graph.context import Context
from graph.errors import BadUserInput
from graph.validation import check_text


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
        row = await loaders.product_by_id.load(ids.decode_as(id_, "Product"))
    else:
        by_slug = (
            loaders.product_with_details_by_slug(with_ancestors, with_variants, with_images)
            if with_category or with_ancestors or with_variants or with_images
            else loaders.product_by_slug
        )
        row = await by_slug.load(check_text("slug", slug or ""))
    return row if row and context.viewer.can_see(row) else None


async def category(context: Context, id_: str | None, slug: str | None) -> CategoryRow | None:
    _one_key(id_, slug)
    loaders = context.loaders
    if id_ is not None:
        return await loaders.category_by_id.load(ids.decode_as(id_, "Category"))
    return await loaders.category_by_slug.load(check_text("slug", slug or ""))


async def variant(context: Context, sku: str) -> VariantRow | None:
    row = await context.loaders.variant_by_sku.load(check_text("sku", sku))
    return await nodes.visible_variant(context, row)
