"""Bulk price jobs for the worker tests: started through the API, checked in the database."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from db.engine import create_engine
from db.models import categories, products, variants
from db.queries.categories import in_subtree
from graph import ids
from graph.settings import Settings
from tests.support import Api

BULK = """mutation($c: ID!, $p: Decimal, $a: Decimal) {
  productsBulkPriceUpdate(categoryId: $c, percent: $p, amount: $a) {
    job { id status } userErrors { field code message } } }"""


def worker_env(settings: Settings, broker: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": settings.database_url, "CELERY_BROKER_URL": broker, **extra}


def subtree(category_id: int) -> Select[Any]:
    """The ids of the category and its descendants."""
    root = select(categories.c.path).where(categories.c.id == category_id)
    return select(categories.c.id).where(in_subtree(categories.c.path, root.scalar_subquery()))


async def prices(settings: Settings, category_id: int) -> dict[int, Decimal]:
    """Every variant's price in the category's subtree, read straight from the database."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            scope = select(products.c.id).where(products.c.category_id.in_(subtree(category_id)))
            rows = await connection.execute(
                select(variants.c.id, variants.c.price).where(variants.c.product_id.in_(scope))
            )
            return {row[0]: row[1] for row in rows}
    finally:
        await engine.dispose()


async def count(settings: Settings, table: Any, *where: Any) -> int:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return int(
                await connection.scalar(select(func.count()).select_from(table).where(*where)) or 0
            )
    finally:
        await engine.dispose()


async def start_bulk(api: Api, category: int, **args: str) -> str:
    variables = {
        "c": ids.encode("Category", category),
        "p": args.get("percent"),
        "a": args.get("amount"),
    }
    payload = (await api.query(BULK, variables)).data["productsBulkPriceUpdate"]
    assert payload["userErrors"] == []
    assert payload["job"]["status"] == "QUEUED"
    return str(payload["job"]["id"])
