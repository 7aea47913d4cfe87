"""Product loaders: lookups by id and slug, pages per category, and subtree counts."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.models import ProductStatus
from db.pagination import Page, PageWindow
from db.queries.products import (
    ProductFilter,
    ProductSort,
    product_counts_by_category_ids,
    product_pages_by_category_ids,
    products_by_ids,
    products_by_slugs,
)
from db.rows import ProductRow
from graph.loaders.base import SessionLoader


class ProductByIdLoader(SessionLoader[int, ProductRow | None]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[ProductRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await products_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]


class ProductBySlugLoader(SessionLoader[str, ProductRow | None]):
    def __init__(self, sessions: async_sessionmaker[Any], by_id: ProductByIdLoader) -> None:
        super().__init__(sessions)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[str]) -> list[ProductRow | None]:
        async with self.sessions() as session:
            rows = await products_by_slugs(session=session, slugs=keys)
        for row in rows:
            self.by_id.prime_missing(row.id, row)
        found = {row.slug: row for row in rows}
        return [found.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class ProductPageArgs:
    """Everything but the parent that decides a page; loaders are shared per distinct value."""

    flt: ProductFilter
    sort: ProductSort
    window: PageWindow
    include_subcategories: bool


class ProductPageByCategoryLoader(SessionLoader[int, Page[ProductRow]]):
    def __init__(
        self, sessions: async_sessionmaker[Any], args: ProductPageArgs, by_id: ProductByIdLoader
    ) -> None:
        super().__init__(sessions)
        self.args = args
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Page[ProductRow]]:
        args = self.args
        async with self.sessions() as session:
            pages = await product_pages_by_category_ids(
                session=session,
                category_ids=keys,
                flt=args.flt,
                sort=args.sort,
                window=args.window,
                include_subcategories=args.include_subcategories,
            )
        for page in pages.values():
            for row in page.rows:
                self.by_id.prime_missing(row.id, row)
        return [pages.get(key) or Page() for key in keys]


class ProductCountByCategoryIdLoader(SessionLoader[int, int]):
    def __init__(
        self, sessions: async_sessionmaker[Any], statuses: tuple[ProductStatus, ...]
    ) -> None:
        super().__init__(sessions)
        self.statuses = statuses

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        async with self.sessions() as session:
            counts = await product_counts_by_category_ids(
                session=session, category_ids=keys, statuses=self.statuses
            )
        return [counts.get(key, 0) for key in keys]
