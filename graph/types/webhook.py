"""Webhooks: URLs that receive a signed POST for each change to the events they name.

The secret is write-only: it signs deliveries and is never shown again.
"""

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from db.pagination import Keyset, Page
from db.rows import WebhookDeliveryRow, WebhookRow
from graph import connections, cursors, ids
from graph.context import Context
from graph.loaders.webhooks import DELIVERIES_PER_WEBHOOK
from graph.types.demand import COUNT, list_size
from graph.types.node import Node
from graph.types.page_info import PageInfo
from graph.types.user_error import UserError
from graph.validation import check_count

WEBHOOK_SORT_NAME = "WEBHOOK"
ERRORS = "Why the input was refused; empty on success."
EVENTS = (
    "`<entity>.<created|updated|deleted>` for entity product, variant, image, category or job, "
    "such as `product.updated`; `*` for every event."
)


@strawberry.input(description="A new webhook.")
class WebhookCreateInput:
    url: str = strawberry.field(
        description="An absolute http(s) URL; at most 2048 characters. Unless the gateway allows "
        "private addresses, its host must be, and resolve only to, public ones (else "
        "`PRIVATE_ADDRESS`), checked again at every delivery. Redirects are not followed."
    )
    events: list[str] = strawberry.field(description=f"At least one event name: {EVENTS}")
    secret: str = strawberry.field(
        description="16 to 255 characters. Each delivery is signed per Standard Webhooks "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "
        '"id.timestamp.body">`), keyed with the UTF-8 bytes of this secret, or with the decoded '
        "key of a `whsec_<base64>` one; and, as before, `X-Gateway-Signature: sha256=<hex "
        "HMAC-SHA256 of the body>` keyed with the secret as written. Never shown again."
    )


@strawberry.type(description="One attempt to deliver one event to a webhook.")
class WebhookDelivery:
    event_id: str = strawberry.field(description="The event's id, the same on every retry.")
    attempt: int = strawberry.field(description="1 for the first attempt at this event.")
    succeeded: bool = strawberry.field(description="Whether the receiver answered 2xx.")
    status_code: int | None = strawberry.field(description="The receiver's HTTP status, if any.")
    error: str | None = strawberry.field(
        description="Why the attempt failed: `HTTP <status>`, `timed out`, `connection failed`, "
        "`refused: private address`, `host not found` or `invalid URL`."
    )
    duration_ms: float = strawberry.field(description="How long the attempt took.")
    attempted_at: datetime = strawberry.field(description="When the attempt finished.")

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> Self:
        return cls(
            event_id=row.event_id,
            attempt=row.attempt,
            succeeded=row.succeeded,
            status_code=row.status_code,
            error=row.error,
            duration_ms=row.duration_ms,
            attempted_at=row.attempted_at,
        )


@strawberry.type(description="A URL that receives a signed POST for each matching change.")
class Webhook(Node):
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    events: list[str] = strawberry.field(description=f"The events it receives: {EVENTS}")
    created_by: str = strawberry.field(description="Who created it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    key: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: WebhookRow) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("Webhook", row.id)),
            url=row.url,
            events=list(row.events),
            created_by=row.created_by,
            created_at=row.created_at,
            key=row.id,
        )

    @strawberry.field(
        description="Its latest delivery attempts, newest first.",
        directives=[
            list_size(
                assumed_size=20, slicing_arguments=["first"], require_one_slicing_argument=False
            )
        ],
    )
    async def deliveries(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many, 0 to {DELIVERIES_PER_WEBHOOK}; 20 if null."
            ),
        ] = 20,
    ) -> list[WebhookDelivery]:
        limit = check_count("first", first, DELIVERIES_PER_WEBHOOK, 20)
        rows = await info.context.loaders.deliveries_by_webhook_id.load(self.key)
        return [WebhookDelivery.from_row(row) for row in rows[:limit]]


@strawberry.type(description="The result of webhookCreate.")
class WebhookPayload:
    webhook: Webhook | None = strawberry.field(description="The new webhook; null when refused.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of webhookDelete.")
class WebhookDeletePayload:
    deleted_webhook_id: strawberry.ID | None = strawberry.field(description="The deleted id.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="A webhook in a list, with its position.")
class WebhookEdge:
    node: Webhook = strawberry.field(description="The webhook.")
    keyset: strawberry.Private[Keyset]

    @strawberry.field(description="Pass to `after` or `before` to page from this webhook.")
    def cursor(self) -> str:
        return cursors.encode(WEBHOOK_SORT_NAME, self.keyset)


@strawberry.type(description="A page of webhooks, oldest first.")
class WebhookConnection:
    edges: list[WebhookEdge] = strawberry.field(description="The webhooks on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    total_count: int = strawberry.field(
        description="How many webhooks there are.", directives=[COUNT]
    )

    @classmethod
    def from_page(cls, page: Page[WebhookRow]) -> Self:
        return cls(
            edges=[
                WebhookEdge(node=Webhook.from_row(row), keyset=keyset)
                for row, keyset in zip(page.rows, page.keysets, strict=True)
            ],
            page_info=connections.page_info(page, WEBHOOK_SORT_NAME),
            total_count=page.total,
        )
