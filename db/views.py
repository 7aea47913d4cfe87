"""Product view counts: read for a batch of products, added to in one upsert per flush.

Views are analytics, not catalog changes: they bypass the change log, the outbox and webhooks.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Integer, Select, case, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import product_view_counts, products, utcnow
from db.types import UTCDateTime

# Three bound parameters per product; SQLite allows 32,766 in one statement.
PRODUCTS_PER_STATEMENT = 1_000
SOURCE_COLUMNS = ["product_id", "views", "updated_at"]


async def view_counts_by_product_ids(
    *, session: AsyncSession, product_ids: Sequence[int]
) -> dict[int, int]:
    stmt = select(product_view_counts.c.product_id, product_view_counts.c.views).where(
        product_view_counts.c.product_id.in_(product_ids)
    )
    return {row[0]: row[1] for row in await session.execute(stmt)}


async def add_views(*, session: AsyncSession, counts: Mapping[int, int]) -> int:
    """Add `counts` to the stored totals: one INSERT ... ON CONFLICT DO UPDATE per thousand
    products (one in practice). Products deleted since their views were counted are skipped.
    Returns how many statements it sent."""
    items = sorted((key, views) for key, views in counts.items() if views > 0)
    chunks = [
        dict(items[start : start + PRODUCTS_PER_STATEMENT])
        for start in range(0, len(items), PRODUCTS_PER_STATEMENT)
    ]
    postgresql = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    for chunk in chunks:
        added = case(
            {key: literal(views, Integer()) for key, views in chunk.items()}, value=products.c.id
        )
        source = select(products.c.id, added, literal(now, UTCDateTime())).where(
            products.c.id.in_(list(chunk))
        )
        await session.execute(_upsert(source, postgresql))
    return len(chunks)


def _upsert(source: Select[Any], postgresql: bool) -> Executable:
    """The same ON CONFLICT clause, built with each dialect's own insert construct."""
    table = product_view_counts
    if postgresql:
        pg = postgresql_insert(table).from_select(SOURCE_COLUMNS, source)
        return pg.on_conflict_do_update(
            index_elements=[table.c.product_id],
            set_={"views": table.c.views + pg.excluded.views, "updated_at": pg.excluded.updated_at},
        )
    lite = sqlite_insert(table).from_select(SOURCE_COLUMNS, source)
    return lite.on_conflict_do_update(
        index_elements=[table.c.product_id],
        set_={"views": table.c.views + lite.excluded.views, "updated_at": lite.excluded.updated_at},
    )
