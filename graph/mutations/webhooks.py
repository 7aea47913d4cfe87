"""webhookCreate, webhookDelete."""

import strawberry

from db.writes import webhooks as writes
from db.writes.errors import UserErrorCode
from graph import ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.webhook import (
    Webhook,
    WebhookCreateInput,
    WebhookDeletePayload,
    WebhookPayload,
)
from workers.webhook_targets import PrivateAddress, TargetPolicy, Unresolvable


async def create(context: Context, given: WebhookCreateInput) -> WebhookPayload:
    data = writes.WebhookInput(url=given.url, events=given.events, secret=given.secret)
    refusal = await _refusal(context, given.url)
    row, errors = await perform(context, lambda tx: writes.create_webhook(tx, data, refusal))
    return WebhookPayload(
        webhook=None if row is None else Webhook.from_row(row), user_errors=errors
    )


async def _refusal(context: Context, url: str) -> writes.UrlRefusal | None:
    """Asked before the write: a DNS lookup must not hold its transaction (or, on SQLite, every
    writer of this process) waiting."""
    try:
        await TargetPolicy.of(context.settings, context.resolve).vet(url)
    except PrivateAddress as refused:
        return writes.UrlRefusal(
            f"`url`'s host {refused}; webhooks only reach public addresses.",
            UserErrorCode.PRIVATE_ADDRESS,
        )
    except Unresolvable as refused:
        return writes.UrlRefusal(f"`url`'s host {refused}.", UserErrorCode.INVALID)
    return None


async def delete(context: Context, id_: str) -> WebhookDeletePayload:
    key = ids.decode_as(id_, "Webhook")
    _, errors = await perform(context, lambda tx: writes.delete_webhook(tx, key))
    return WebhookDeletePayload(
        deleted_webhook_id=None if errors else strawberry.ID(id_), user_errors=errors
    )
