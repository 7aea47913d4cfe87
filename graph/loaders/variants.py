"""Variant and image loaders."""

from collections import defaultdict
from collections.abc import Sequence

from db.queries.variants import (
    images_by_ids,
    images_by_product_ids,
    variants_by_ids,
    variants_by_product_ids,
)
from db.rows import ImageRow, VariantRow
from graph.loaders.base import SessionLoader

IMAGES_PER_PRODUCT = 20


class VariantByIdLoader(SessionLoader[int, VariantRow | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[VariantRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await variants_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]


class VariantsByProductIdLoader(SessionLoader[int, list[VariantRow]]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[VariantRow]]:
        async with self.sessions() as session:
            rows = await variants_by_product_ids(session=session, product_ids=keys)
        found: defaultdict[int, list[VariantRow]] = defaultdict(list)
        for row in rows:
            found[row.product_id].append(row)
        return [found[key] for key in keys]


class ImagesByProductIdLoader(SessionLoader[int, list[ImageRow]]):
    """The first IMAGES_PER_PRODUCT images (the API's cap); `images(first:)` slices them."""

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[ImageRow]]:
        async with self.sessions() as session:
            rows = await images_by_product_ids(
                session=session, product_ids=keys, per_product=IMAGES_PER_PRODUCT
            )
        found: defaultdict[int, list[ImageRow]] = defaultdict(list)
        for row in rows:
            found[row.product_id].append(row)
        return [found[key] for key in keys]


class ImageByIdLoader(SessionLoader[int, ImageRow | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[ImageRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await images_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]
