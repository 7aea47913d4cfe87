"""Direct reads (db.direct) return what SQLAlchemy's execution returns, row for row, for every
statement the loaders run, and none of them falls back."""

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text

from db.engine import create_engine, read_sessions
from db.models import ProductStatus
from db.pagination import Keyset, PageWindow
from db.queries import categories as category_queries
from db.queries import products as product_queries
from db.queries import variants as variant_queries
from db.read_session import ReadConnections
from graph.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

EVERYONE = (ProductStatus.ACTIVE, ProductStatus.DRAFT, ProductStatus.ARCHIVED)


@pytest_asyncio.fixture(loop_scope="session")
async def both(settings: Settings) -> AsyncIterator[tuple[ReadConnections, ReadConnections]]:
    engine = create_engine(settings)
    direct, plain = read_sessions(engine, idle=1, direct=True), read_sessions(engine)
    try:
        yield direct, plain
    finally:
        await direct.close()
        await engine.dispose()


async def _ids(reads: ReadConnections, sql: str) -> list[Any]:
    async with reads() as session:
        return [row[0] for row in await session.execute(text(sql))]


async def test_every_loader_statement_reads_the_same_rows_directly(
    both: tuple[ReadConnections, ReadConnections],
) -> None:
    direct, plain = both
    if direct.engine.dialect.name == "sqlite":
        # A kept SQLite connection may keep its snapshot: its reads go through SQLAlchemy.
        assert direct.direct is None
        return
    product_ids = await _ids(plain, "SELECT id FROM products ORDER BY id LIMIT 40")
    slugs = await _ids(plain, "SELECT slug FROM products ORDER BY id DESC LIMIT 7")
    skus = await _ids(plain, "SELECT sku FROM product_variants ORDER BY id LIMIT 9")
    variant_ids = await _ids(plain, "SELECT id FROM product_variants ORDER BY id DESC LIMIT 9")
    category_ids = await _ids(plain, "SELECT id FROM categories ORDER BY id")
    roots = await _ids(plain, "SELECT id FROM categories WHERE parent_id IS NULL")
    sort = product_queries.ProductSort(product_queries.ProductSortField.PRICE, descending=True)
    first = PageWindow(first=5, with_total=True)
    calls: list[Any] = [
        lambda s: product_queries.products_by_ids(session=s, ids=product_ids),
        lambda s: product_queries.products_by_slugs(session=s, slugs=slugs),
        lambda s: product_queries.products_with_categories_by_slugs(
            session=s, slugs=slugs, with_ancestors=False
        ),
        lambda s: product_queries.products_with_categories_by_slugs(
            session=s, slugs=slugs, with_variants=True, with_images=True
        ),
        lambda s: product_queries.product_counts_by_category_ids(
            session=s, category_ids=category_ids, statuses=EVERYONE
        ),
        lambda s: category_queries.categories_with_ancestors(session=s, ids=category_ids[-3:]),
        lambda s: category_queries.categories_with_ancestors(session=s, slugs=["nope"]),
        lambda s: category_queries.children_by_parent_ids(session=s, parent_ids=roots),
        lambda s: category_queries.category_page(
            session=s, window=first, parent_id=None, roots_only=True
        ),
        lambda s: category_queries.category_page(
            session=s, window=PageWindow(last=2), parent_id=roots[0], roots_only=False
        ),
        lambda s: variant_queries.variants_with_products(session=s, ids=variant_ids),
        lambda s: variant_queries.variants_with_products(session=s, skus=skus),
        lambda s: variant_queries.variants_by_product_ids(session=s, product_ids=product_ids),
        lambda s: variant_queries.images_by_product_ids(
            session=s, product_ids=product_ids, per_product=2
        ),
    ]
    for statuses in ((ProductStatus.ACTIVE,), EVERYONE):
        flt = product_queries.ProductFilter(statuses=statuses, in_stock=True)
        for window in (first, PageWindow(first=3, after=Keyset((Decimal("50.00"), 10)))):
            calls += [
                lambda s, f=flt, w=window: product_queries.product_page(
                    session=s, flt=f, sort=sort, window=w
                ),
                lambda s, f=flt, w=window: product_queries.product_pages_by_category_ids(
                    session=s,
                    category_ids=roots,
                    flt=f,
                    sort=sort,
                    window=w,
                    include_subcategories=True,
                ),
            ]
    for call in calls:
        async with direct() as d, plain() as p:
            # repr: equal is not enough (a StrEnum equals its text, an aware datetime may equal
            # a naive one's offset twin); the same types and values are.
            assert repr(await call(d)) == repr(await call(p))
    assert direct.direct is not None
    assert direct.direct.failures == 0
    ran = list(direct.direct.compiled.values())
    assert len(ran) >= 8
    assert all(compiled is not None for compiled in ran)  # none needed SQLAlchemy at run time
