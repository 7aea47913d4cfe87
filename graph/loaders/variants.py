"""Variant and image loaders. A variant's lookup brings its product, which primes the product
loader: whether the variant may be seen depends on it."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from db.cache import codec
from db.cache import keys as ck
from db.cache.aside import Cache
from db.engine import Sessions
from db.queries.variants import (
    IMAGES_PER_PRODUCT,
    images_by_ids,
    images_by_product_ids,
    variants_by_product_ids,
    variants_with_products,
)
from db.rows import ImageRow, ProductRow, VariantRow
from graph.loaders.base import SessionLoader, UniqueKeyLoader
from graph.loaders.products import ProductByIdLoader

VARIANT = codec.decoder(VariantRow)
VARIANTS = codec.list_decoder(VariantRow)
IMAGES = codec.list_decoder(ImageRow)


class VariantByIdLoader(SessionLoader[int, VariantRow | None]):
    def __init__(
        self,
        sessions: Sessions,
        products: ProductByIdLoader,
        store: Cache | None = None,
    ) -> None:
        super().__init__(sessions, store)
        self.products = products

    async def batch_load_fn(self, keys: Sequence[int]) -> list[VariantRow | None]:
        found = await self._cached(keys, self._load)
        return [found.get(key) for key in keys]

    async def _cached(
        self, keys: Sequence[int], load: Callable[[list[int]], Awaitable[dict[int, VariantRow]]]
    ) -> dict[int, VariantRow]:
        return await self.cached(
            keys, key=ck.variant, generation=ck.variant_generation, load=load, decode=VARIANT
        )

    async def _load(self, ids: list[int]) -> dict[int, VariantRow]:
        async with self.sessions() as session:
            pairs = await variants_with_products(session=session, ids=ids)
        await self.products.remember([product for _, product in pairs])
        return {variant.id: variant for variant, _ in pairs}

    async def remember(self, pairs: Sequence[tuple[VariantRow, ProductRow]]) -> None:
        """Variants another statement loaded with their products: prime both loaders."""
        known = {variant.id: variant for variant, _ in pairs}
        await self.brought(known, key=ck.variant, generation=ck.variant_generation)
        await self.products.remember([product for _, product in pairs])


class VariantBySkuLoader(UniqueKeyLoader[VariantRow]):
    by_id: VariantByIdLoader

    def __init__(
        self,
        sessions: Sessions,
        by_id: VariantByIdLoader,
        store: Cache | None = None,
    ) -> None:
        # A SKU no variant has yet: creating or renaming a variant touches its product, which
        # bumps the catalog's listing.
        absent = ck.listing_generation(None)
        super().__init__(
            sessions, by_id, store, cache_key=ck.variant_sku, key_of=_sku, absent=absent
        )

    async def rows(self, keys: list[str]) -> list[VariantRow]:
        async with self.sessions() as session:
            pairs = await variants_with_products(session=session, skus=keys)
        await self.by_id.remember(pairs)
        return [variant for variant, _ in pairs]


def _sku(row: VariantRow) -> str:
    return row.sku


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

    async def remember(self, lists: dict[int, list[VariantRow]]) -> None:
        """Each product's variants, which another statement loaded: prime this request, and
        tag the response (and fill the cache) as a load of them would."""
        await self.brought(lists, key=ck.variants, generation=ck.product_generation)

    async def _load(self, product_ids: list[int]) -> dict[int, list[VariantRow]]:
        async with self.sessions() as session:
            rows = await variants_by_product_ids(session=session, product_ids=product_ids)
        found: defaultdict[int, list[VariantRow]] = defaultdict(list)
        for row in rows:
            found[row.product_id].append(row)
        return {key: found[key] for key in product_ids}


class ImagesByProductIdLoader(SessionLoader[int, list[ImageRow]]):
    """The first `first` images of each product (at most IMAGES_PER_PRODUCT, the API's cap).
    Without a cache only those are read: a listing shows one image of each product, and
    reading them all to keep the first was 8% of a category page. With one, every product's
    list is cached whole, under one key that writes invalidate, and sliced."""

    def __init__(
        self, sessions: Sessions, store: Cache | None = None, first: int = IMAGES_PER_PRODUCT
    ) -> None:
        super().__init__(sessions, store)
        self.first = first
        self.per_product = first if store is None else IMAGES_PER_PRODUCT

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[ImageRow]]:
        first = self.first
        if first == 0:
            return [[] for _ in keys]
        found = await self.cached(
            keys, key=ck.images, generation=ck.product_generation, load=self._load, decode=IMAGES
        )
        return [found.get(key, [])[:first] for key in keys]

    async def remember(self, lists: dict[int, list[ImageRow]]) -> None:
        """Each product's first IMAGES_PER_PRODUCT images, which another statement loaded:
        prime this request, and tag the response (and fill the cache, which keeps whole
        lists) as a load would. Only for the loader of that many (graph.context.Loaders
        primes the others with the slices they show)."""
        assert self.first == IMAGES_PER_PRODUCT
        await self.brought(lists, key=ck.images, generation=ck.product_generation)

    async def _load(self, product_ids: list[int]) -> dict[int, list[ImageRow]]:
        async with self.sessions() as session:
            rows = await images_by_product_ids(
                session=session, product_ids=product_ids, per_product=self.per_product
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
