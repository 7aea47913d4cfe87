"""Variants and images of products."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from db.direct import generic_plan
from db.lists import one_of
from db.models import categories, images, products, variants
from db.queries.categories import in_subtree
from db.read_session import read_rows
from db.rows import ImageRow, ProductRow, VariantRow, reader
from db.types import quantized

# The most images a product shows (the API's cap on `images(first:)`).
IMAGES_PER_PRODUCT = 20
VARIANT_COLUMNS = tuple(c for c in variants.c if c.name not in ("created_at", "updated_at"))
IMAGE_COLUMNS = tuple(images.c)


_variant = reader(VariantRow, VARIANT_COLUMNS)
_PRICES = tuple(i for i, c in enumerate(VARIANT_COLUMNS) if c.name in ("price", "compare_at_price"))


def variant_lists_column(owner: Any) -> Any:
    """A LATERAL subquery giving each `owner` product's variants as one JSON array of arrays (the
    columns of VARIANT_COLUMNS in order, the list in position order): PostgreSQL only. Read
    with `variants_from_json`."""
    variant = variants.alias("variant")
    # Prices as text: a JSON number would pass through a float.
    row = func.json_build_array(
        *(
            cast(variant.c[c.name], Text) if i in _PRICES else variant.c[c.name]
            for i, c in enumerate(VARIANT_COLUMNS)
        )
    )
    return (
        select(
            func.json_agg(aggregate_order_by(row, variant.c.position, variant.c.id)).label("list")
        )
        .where(variant.c.product_id == owner.c.id)
        .lateral("variant_list")
    )


def variants_from_json(lists: list[list[Any]] | None) -> list[VariantRow]:
    """What `variant_lists_column` gives (the driver decodes JSON, with the deserializer it
    uses for `selected_options` everywhere), as the rows `variants_by_product_ids` reads:
    prices from their text, quantized as Money does."""
    found = []
    for values in lists or ():  # None: no variants
        for index in _PRICES:
            if values[index] is not None:
                values[index] = quantized(Decimal(values[index]))
        found.append(VariantRow(*values))
    return found


def image_lists_column(owner: Any, per_product: int) -> Any:
    """A LATERAL subquery giving each `owner` product's first `per_product` images as one JSON
    array of arrays (IMAGE_COLUMNS in order, the list in position order): PostgreSQL only. Read
    with `images_from_json`."""
    image = images.alias("image")
    first = (
        select(*(image.c[c.name] for c in IMAGE_COLUMNS))
        .where(image.c.product_id == owner.c.id)
        .order_by(image.c.position, image.c.id)
        .limit(per_product)
        .correlate(owner)
        .subquery("first_image")
    )
    row = func.json_build_array(*(first.c[c.name] for c in IMAGE_COLUMNS))
    return (
        select(func.json_agg(aggregate_order_by(row, first.c.position, first.c.id)).label("list"))
        .select_from(first)
        .lateral("image_list")
    )


def images_from_json(lists: list[list[Any]] | None) -> list[ImageRow]:
    """What `image_lists_column` gives, as the rows `images_by_product_ids` reads."""
    return [ImageRow(*values) for values in lists or ()]  # None: no images


_image = reader(ImageRow, IMAGE_COLUMNS)


async def variants_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[VariantRow]:
    result = await session.execute(select(*VARIANT_COLUMNS).where(variants.c.id.in_(ids)))
    return [_variant(row) for row in result]


# A variant's product decides whether the variant may be seen: its lookups bring it along.
_PRODUCT_LABELS = {column.name: f"owner_{column.name}" for column in products.c}
_WITH_PRODUCTS = select(
    *VARIANT_COLUMNS, *(products.c[name].label(label) for name, label in _PRODUCT_LABELS.items())
).join_from(variants, products, variants.c.product_id == products.c.id)
_WITH_PRODUCTS_BY_IDS = generic_plan(_WITH_PRODUCTS.where(one_of(variants.c.id, "ids")))
_WITH_PRODUCTS_BY_SKUS = generic_plan(_WITH_PRODUCTS.where(one_of(variants.c.sku, "skus")))


def _owner(row: Any) -> ProductRow:
    mapping = row._mapping
    return ProductRow(**{name: mapping[label] for name, label in _PRODUCT_LABELS.items()})


async def variants_with_products(
    *, session: AsyncSession, ids: Sequence[int] = (), skus: Sequence[str] = ()
) -> list[tuple[VariantRow, ProductRow]]:
    """The variants with these ids or SKUs, each with its product, in one statement."""
    if ids:
        result = await read_rows(session, _WITH_PRODUCTS_BY_IDS, {"ids": list(ids)})
    else:
        result = await read_rows(session, _WITH_PRODUCTS_BY_SKUS, {"skus": list(skus)})
    return [(_variant(row), _owner(row)) for row in result]


# Built once, with expanding parameters: building them per batch cost more CPU than running them.
_VARIANTS_OF_PRODUCTS = generic_plan(
    select(*VARIANT_COLUMNS)
    .where(one_of(variants.c.product_id, "product_ids"))
    .order_by(variants.c.product_id, variants.c.position, variants.c.id)
)


def _first_images() -> Select[Any]:
    order: Any = (images.c.position, images.c.id)
    rn = func.row_number().over(partition_by=images.c.product_id, order_by=order).label("rn")
    wanted = one_of(images.c.product_id, "product_ids")
    inner = select(*IMAGE_COLUMNS, rn).where(wanted).subquery()
    return (
        select(*(inner.c[c.name] for c in IMAGE_COLUMNS))
        .where(inner.c.rn <= bindparam("per_product"))
        .order_by(inner.c.product_id, inner.c.rn)
    )


_FIRST_IMAGES = generic_plan(_first_images())


async def variants_by_product_ids(
    *, session: AsyncSession, product_ids: Sequence[int]
) -> list[VariantRow]:
    result = await read_rows(session, _VARIANTS_OF_PRODUCTS, {"product_ids": list(product_ids)})
    return [_variant(row) for row in result]


async def images_by_product_ids(
    *, session: AsyncSession, product_ids: Sequence[int], per_product: int
) -> list[ImageRow]:
    """The first `per_product` images of each product, in position order."""
    params = {"product_ids": list(product_ids), "per_product": per_product}
    return [_image(row) for row in await read_rows(session, _FIRST_IMAGES, params)]


async def images_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[ImageRow]:
    result = await session.execute(select(*IMAGE_COLUMNS).where(images.c.id.in_(ids)))
    return [_image(row) for row in result]


def _in_category(category_id: int, include_subcategories: bool) -> Select[Any]:
    if include_subcategories:
        scope = categories.alias("scope")
        within = (
            select(categories.c.id)
            .join_from(categories, scope, in_subtree(categories.c.path, scope.c.path))
            .where(scope.c.id == category_id)
        )
        in_scope: ColumnElement[bool] = products.c.category_id.in_(within)
    else:
        in_scope = products.c.category_id == category_id
    return (
        select(variants.c.id)
        .join_from(variants, products, variants.c.product_id == products.c.id)
        .where(in_scope)
    )


async def variant_ids_in_category(
    *,
    session: AsyncSession,
    category_id: int,
    include_subcategories: bool,
    after_id: int,
    limit: int,
) -> list[int]:
    """Ids of the category's products' variants, in id order after `after_id`."""
    stmt = (
        _in_category(category_id, include_subcategories)
        .where(variants.c.id > after_id)
        .order_by(variants.c.id)
        .limit(limit)
    )
    return [row[0] for row in await session.execute(stmt)]


async def count_variants_in_category(
    *, session: AsyncSession, category_id: int, include_subcategories: bool
) -> int:
    inner = _in_category(category_id, include_subcategories).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)
