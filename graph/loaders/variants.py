"""Variant and image loaders."""

from collections import defaultdict
from collections.abc import Sequence

from db.cache import codec
from db.cache import keys as ck
from db.queries.variants import (
    images_by_ids,
    images_by_product_ids,
    variants_by_ids,
    variants_by_product_ids,
)
from db.rows import ImageRow, VariantRow
from graph.loaders.base import SessionLoader

IMAGES_PER_PRODUCT = 20
VARIANT = codec.decoder(VariantRow)
VARIANTS = codec.list_decoder(VariantRow)
IMAGES = codec.list_decoder(ImageRow)


class VariantByIdLoader(SessionLoader[int, VariantRow | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[VariantRow | None]:
        found = await self.cached(
            keys, key=ck.variant, generation=ck.variant_generation, load=self._load, decode=VARIANT
        )
        return [found.get(key) for key in keys]

    async def _load(self, ids: list[int]) -> dict[int, VariantRow]:
        async with self.sessions() as session:
            return {row.id: row for row in await variants_by_ids(session=session, ids=ids)}


class VariantsByProductIdLoader(SessionLoader[int, list[VariantRow]]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[VariantRow]]:
        found = await self.cached(
            keys,
            key=ck.variants,
            generation=ck.product_generation,
            load=self._load,
            decode=VARIANTS,
        )
        return [found.get(key, []) for key in keys]

    async def _load(self, product_ids: list[int]) -> dict[int, list[VariantRow]]:
        async with self.sessions() as session:
            rows = await variants_by_product_ids(session=session, product_ids=product_ids)
        found: defaultdict[int, list[VariantRow]] = defaultdict(list)
        for row in rows:
            found[row.product_id].append(row)
        return {key: found[key] for key in product_ids}


class ImagesByProductIdLoader(SessionLoader[int, list[ImageRow]]):
    """The first IMAGES_PER_PRODUCT images (the API's cap); `images(first:)` slices them."""

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[ImageRow]]:
        found = await self.cached(
            keys, key=ck.images, generation=ck.product_generation, load=self._load, decode=IMAGES
        )
        return [found.get(key, []) for key in keys]

    async def _load(self, product_ids: list[int]) -> dict[int, list[ImageRow]]:
        async with self.sessions() as session:
            rows = await images_by_product_ids(
                session=session, product_ids=product_ids, per_product=IMAGES_PER_PRODUCT
            )
        found: defaultdict[int, list[ImageRow]] = defaultdict(list)
        for row in rows:
            found[row.product_id].append(row)
        return {key: found[key] for key in product_ids}


class ImageByIdLoader(SessionLoader[int, ImageRow | None]):
    tagged = False

    async def batch_load_fn(self, keys: Sequence[int]) -> list[ImageRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await images_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]
