"""Product loaders: lookups by id and slug, pages per category, and subtree counts."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from db.cache import codec
from db.cache import keys as ck
from db.cache.aside import Cache
from db.cache.pages import encode_page, page_decoder
from db.engine import Sessions
from db.models import ProductStatus
from db.pagination import Page, PageWindow
from db.queries.products import (
    ProductFilter,
    ProductSort,
    product_counts_by_category_ids,
    product_pages_by_category_ids,
    products_by_ids,
    products_by_slugs,
    products_with_categories_by_slugs,
)
from db.rows import ImageRow, ProductRow
from graph.loaders.base import SessionLoader, UniqueKeyLoader, encode_id
from graph.loaders.categories import CategoryByIdLoader

if TYPE_CHECKING:  # graph.loaders.variants imports this module
    from graph.loaders.variants import VariantsByProductIdLoader

PRODUCT = codec.decoder(ProductRow)


class ProductByIdLoader(SessionLoader[int, ProductRow | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[ProductRow | None]:
        found = await self.cached(
            keys, key=ck.product, generation=ck.product_generation, load=self._load, decode=PRODUCT
        )
        return [found.get(key) for key in keys]

    async def _load(self, ids: list[int]) -> dict[int, ProductRow]:
        async with self.sessions() as session:
            return {row.id: row for row in await products_by_ids(session=session, ids=ids)}

    async def remember(self, rows: Sequence[ProductRow]) -> None:
        """Rows another statement already loaded: prime this request, and the cache."""
        known = {row.id: row for row in rows}
        await self.brought(known, key=ck.product, generation=ck.product_generation)


class ProductBySlugLoader(UniqueKeyLoader[ProductRow]):
    by_id: ProductByIdLoader

    def __init__(
        self,
        sessions: Sessions,
        by_id: ProductByIdLoader,
        store: Cache | None = None,
    ) -> None:
        # A slug no product has yet: any new or renamed product may take it.
        absent = ck.listing_generation(None)
        super().__init__(
            sessions, by_id, store, cache_key=ck.product_slug, key_of=_slug, absent=absent
        )

    async def rows(self, keys: list[str]) -> list[ProductRow]:
        async with self.sessions() as session:
            rows = await products_by_slugs(session=session, slugs=keys)
        await self.by_id.remember(rows)
        return rows


class ProductWithCategoryBySlugLoader(ProductBySlugLoader):
    """Products by slug for an operation that shows their categories: the statement that finds
    them brings their categories (with `ancestors`, and every ancestor) too, which prime
    `categories` (and tag the response as any category load does), so showing them costs no
    second round trip. With `variants` (`images`), on PostgreSQL it brings each product's
    variants (images) as well, handed to them to remember (a product page)."""

    def __init__(
        self,
        sessions: Sessions,
        by_id: ProductByIdLoader,
        categories: CategoryByIdLoader,
        store: Cache | None = None,
        *,
        ancestors: bool = True,
        variants: "VariantsByProductIdLoader | None" = None,
        images: Callable[[dict[int, list[ImageRow]]], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(sessions, by_id, store)
        self.categories = categories
        self.ancestors = ancestors
        self.variants = variants
        self.images = images

    async def rows(self, keys: list[str]) -> list[ProductRow]:
        variants, images = self.variants, self.images
        async with self.sessions() as session:
            found = await products_with_categories_by_slugs(
                session=session,
                slugs=keys,
                with_ancestors=self.ancestors,
                with_variants=variants is not None,
                with_images=images is not None,
            )
        await self.by_id.remember(found.products)
        await self.categories.remember(found.categories)
        if variants is not None and found.variants is not None:
            await variants.remember(found.variants)
        if images is not None and found.images is not None:
            await images(found.images)
        return found.products


def _slug(row: ProductRow) -> str:
    return row.slug


@dataclass(frozen=True, slots=True)
class ProductPageArgs:
    """Everything but the parent that decides a page; loaders are shared per distinct value."""

    flt: ProductFilter
    sort: ProductSort
    window: PageWindow
    include_subcategories: bool


class ProductPageByCategoryLoader(SessionLoader[int, Page[ProductRow]]):
    """Page keys carry the category's listing generation, which every write under it bumps."""

    def __init__(
        self,
        sessions: Sessions,
        args: ProductPageArgs,
        by_id: ProductByIdLoader,
        store: Cache | None = None,
    ) -> None:
        super().__init__(sessions, store)
        self.args = args
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Page[ProductRow]]:
        names = await _generation_keys(self.store, keys)
        pages = await self.cached(
            keys,
            key=lambda c: ck.page("products", c, names[c], self.args),
            generation=ck.listing_generation,
            load=self._load,
            encode=encode_page,
            decode=page_decoder(ProductRow, self.args.sort.keyset),
        )
        for page in pages.values():
            self.by_id.prime_all([(row.id, row) for row in page.rows])
        return [pages.get(key) or Page() for key in keys]

    async def _load(self, category_ids: list[int]) -> dict[int, Page[ProductRow]]:
        args = self.args
        async with self.sessions() as session:
            pages = await product_pages_by_category_ids(
                session=session,
                category_ids=category_ids,
                flt=args.flt,
                sort=args.sort,
                window=args.window,
                include_subcategories=args.include_subcategories,
            )
        return {key: pages.get(key) or Page() for key in category_ids}


async def _generation_keys(
    store: Cache | None, category_ids: Sequence[int]
) -> dict[int, bytes | None]:
    if store is None:
        return dict.fromkeys(category_ids)
    values = await store.generations([ck.listing_generation(c) for c in category_ids])
    return dict(zip(category_ids, values, strict=True))


class ProductCountByCategoryIdLoader(SessionLoader[int, int]):
    def __init__(
        self,
        sessions: Sessions,
        statuses: tuple[ProductStatus, ...],
        store: Cache | None = None,
    ) -> None:
        super().__init__(sessions, store)
        self.statuses = statuses
        self.scope = ",".join(sorted(statuses))

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        names = await _generation_keys(self.store, keys)
        counts = await self.cached(
            keys,
            key=lambda c: ck.count(self.scope, c, names[c]),
            generation=ck.listing_generation,
            load=self._load,
            encode=encode_id,
            decode=int,
        )
        return [counts.get(key, 0) for key in keys]

    async def _load(self, category_ids: list[int]) -> dict[int, int]:
        async with self.sessions() as session:
            counts = await product_counts_by_category_ids(
                session=session, category_ids=category_ids, statuses=self.statuses
            )
        return {key: counts.get(key, 0) for key in category_ids}
