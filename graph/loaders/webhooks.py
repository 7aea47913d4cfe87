"""Webhooks by id, and each webhook's newest delivery attempts."""

from collections import defaultdict
from collections.abc import Sequence

from db.queries.webhooks import deliveries_by_webhook_ids, webhooks_by_ids
from db.rows import WebhookDeliveryRow, WebhookRow
from graph.loaders.base import SessionLoader

DELIVERIES_PER_WEBHOOK = 100


class WebhookByIdLoader(SessionLoader[int, WebhookRow | None]):
    tagged = False

    async def batch_load_fn(self, keys: Sequence[int]) -> list[WebhookRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await webhooks_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]


class DeliveriesByWebhookIdLoader(SessionLoader[int, list[WebhookDeliveryRow]]):
    """The newest DELIVERIES_PER_WEBHOOK attempts (the API's cap); `deliveries(first:)` slices."""

    tagged = False

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[WebhookDeliveryRow]]:
        async with self.sessions() as session:
            rows = await deliveries_by_webhook_ids(
                session=session, webhook_ids=keys, per_webhook=DELIVERIES_PER_WEBHOOK
            )
        found: defaultdict[int, list[WebhookDeliveryRow]] = defaultdict(list)
        for row in rows:
            found[row.webhook_id].append(row)
        return [found[key] for key in keys]
