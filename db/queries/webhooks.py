"""Webhooks and their delivery log: lookups for the API and the delivery task."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import webhook_deliveries, webhooks
from db.pagination import (
    SINGLE_PARENT,
    Keyset,
    Page,
    PageWindow,
    SortKey,
    limited_page_statement,
    split_pages,
)
from db.rows import WebhookDeliveryRow, WebhookRow, reader

COLUMNS = tuple(webhooks.c)
DELIVERY_COLUMNS = tuple(webhook_deliveries.c)


to_row = reader(WebhookRow, COLUMNS)


to_delivery = reader(WebhookDeliveryRow, DELIVERY_COLUMNS)


async def webhooks_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[WebhookRow]:
    result = await session.execute(select(*COLUMNS).where(webhooks.c.id.in_(ids)))
    return [to_row(row) for row in result]


async def webhook_page(*, session: AsyncSession, window: PageWindow) -> Page[WebhookRow]:
    stmt = limited_page_statement(
        select(*COLUMNS), sort=SortKey(columns=(webhooks.c.id,)), window=window
    )
    found = (await session.execute(stmt)).all()
    pages = split_pages(
        found, window=window, to_item=to_row, to_keyset=lambda row: Keyset((row.id,))
    )
    return pages.get(SINGLE_PARENT, Page())


async def deliveries_by_webhook_ids(
    *, session: AsyncSession, webhook_ids: Sequence[int], per_webhook: int
) -> list[WebhookDeliveryRow]:
    """The newest `per_webhook` attempts of each webhook, newest first, in one statement."""
    newest: Any = webhook_deliveries.c.id.desc()
    rn = func.row_number().over(partition_by=webhook_deliveries.c.webhook_id, order_by=newest)
    inner = (
        select(*DELIVERY_COLUMNS, rn.label("rn"))
        .where(webhook_deliveries.c.webhook_id.in_(webhook_ids))
        .subquery()
    )
    stmt = (
        select(*(inner.c[c.name] for c in DELIVERY_COLUMNS))
        .where(inner.c.rn <= per_webhook)
        .order_by(inner.c.webhook_id, inner.c.rn)
    )
    return [to_delivery(row) for row in await session.execute(stmt)]


async def delivery_history(
    *, session: AsyncSession, webhook_id: int, event_id: str
) -> tuple[int, bool]:
    """How many attempts one event has had at one webhook, and whether one succeeded."""
    succeeded = func.max(case((webhook_deliveries.c.succeeded, 1), else_=0))
    stmt = select(func.count(), func.coalesce(succeeded, 0)).where(
        webhook_deliveries.c.webhook_id == webhook_id,
        webhook_deliveries.c.event_id == event_id,
    )
    attempts, any_succeeded = (await session.execute(stmt)).one()
    return int(attempts), bool(any_succeeded)
