"""webhookCreate, webhookDelete."""

import strawberry

from db.writes import webhooks as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.webhook import (
    Webhook,
    WebhookCreateInput,
    WebhookDeletePayload,
    WebhookPayload,
)


async def create(context: Context, given: WebhookCreateInput) -> WebhookPayload:
    data = writes.WebhookInput(url=given.url, events=given.events, secret=given.secret)
    row, errors = await perform(context, lambda tx: writes.create_webhook(tx, data))
    return WebhookPayload(
        webhook=None if row is None else Webhook.from_row(row), user_errors=errors
    )


async def delete(context: Context, id_: str) -> WebhookDeletePayload:
    key = ids.decode_as(id_, "Webhook")
    _, errors = await perform(context, lambda tx: writes.delete_webhook(tx, key))
    return WebhookDeletePayload(
        deleted_webhook_id=None if errors else strawberry.ID(id_), user_errors=errors
    )
