"""The seed is deterministic, shaped as the workloads expect, and idempotent."""

from collections import Counter
from decimal import Decimal

from sqlalchemy import func, select

from db.engine import create_unpooled_engine
from db.models import ProductStatus, products
from db.seed import build_catalog, seed
from graph.settings import Settings
from tests.support import SEED_PRODUCTS


def test_catalog_is_deterministic_and_shaped_like_the_benchmark() -> None:
    first, second = build_catalog(2_000), build_catalog(2_000)
    assert first == second
    levels = Counter(c["level"] for c in first.categories)
    assert levels == {0: 10, 1: 40, 2: 200}
    per_leaf = Counter(p["category_id"] for p in first.products)
    assert set(per_leaf.values()) == {10}
    per_product = Counter(v["product_id"] for v in first.variants)
    assert set(per_product.values()) <= {1, 2, 3, 4, 5}
    drafts = sum(p["status"] is ProductStatus.DRAFT for p in first.products)
    assert 0.02 < drafts / 2_000 < 0.08
    out_of_stock = sum(v["quantity"] == 0 for v in first.variants)
    assert 0.05 < out_of_stock / len(first.variants) < 0.15
    prices: dict[int, list[Decimal]] = {}
    stocked: Counter[int] = Counter()
    for variant in first.variants:
        prices.setdefault(variant["product_id"], []).append(variant["price"])
        stocked[variant["product_id"]] += variant["quantity"] > 0
    for product in first.products:
        assert product["min_price"] == min(prices[product["id"]])
        assert product["max_price"] == max(prices[product["id"]])
        assert product["in_stock"] is (stocked[product["id"]] > 0)


async def test_seeding_twice_changes_nothing(settings: Settings) -> None:
    engine = create_unpooled_engine(settings)
    try:
        assert await seed(engine, 50) is False
        async with engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(products))
        assert count == SEED_PRODUCTS
    finally:
        await engine.dispose()
