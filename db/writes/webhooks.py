"""Webhooks: create and delete subscriptions, and log each delivery attempt.

Webhooks are configuration, not catalog, so these writes record no change rows; they still run
in a WriteTransaction so they share its locking and its all-or-nothing commit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select

from db.models import utcnow, webhook_deliveries, webhooks
from db.queries.webhooks import webhooks_by_ids
from db.rows import WebhookRow
from db.webhook_secrets import MIN_KEY_BYTES, PREFIX, standard_key
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction
from db.writes.validation import Checker

ALL_EVENTS = "*"
EVENTS = frozenset(
    f"{entity}.{kind}"
    for entity in ("product", "variant", "image", "category", "job")
    for kind in ("created", "updated", "deleted")
)
MIN_SECRET, MAX_SECRET = 16, 255
MAX_URL = 2048
MAX_ERROR = 2000


@dataclass(frozen=True, slots=True)
class WebhookInput:
    url: str
    events: Sequence[str]
    secret: str


@dataclass(frozen=True, slots=True)
class UrlRefusal:
    """Why the URL's host may not be reached. The caller finds it before the transaction, since
    it takes a DNS lookup; it is reported with the input's other problems."""

    message: str
    code: UserErrorCode


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    webhook_id: int
    event_id: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: float


def _is_http_url(url: str) -> bool:
    if any(c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # an unbalanced IPv6 bracket, a port out of range
        return False


def _check_url(checker: Checker, url: str, refusal: UrlRefusal | None) -> None:
    checker.text("url", url, max_length=MAX_URL)
    if checker.errors_for("url"):
        return
    if not _is_http_url(url):
        checker.fail("url", "`url` must be an absolute http(s) URL.", UserErrorCode.INVALID)
    elif refusal is not None:
        checker.fail("url", refusal.message, refusal.code)


def _check_events(checker: Checker, events: Sequence[str]) -> None:
    if not events:
        checker.fail("events", "Name at least one event, or `*` for all.", UserErrorCode.INVALID)
        return
    unknown = [event for event in events if event != ALL_EVENTS and event not in EVENTS]
    if unknown:
        named = ", ".join(repr(event[:50]) for event in unknown[:5])
        checker.fail(
            "events",
            f"Unknown events: {named}. Use `<entity>.<created|updated|deleted>` with entity "
            "product, variant, image, category or job, or `*`.",
            UserErrorCode.INVALID,
        )


def _check_secret(checker: Checker, secret: str) -> None:
    checker.text("secret", secret, max_length=MAX_SECRET)
    if checker.errors_for("secret"):
        return
    if len(secret) < MIN_SECRET:
        checker.fail(
            "secret", f"`secret` must be at least {MIN_SECRET} characters.", UserErrorCode.INVALID
        )
    elif secret.startswith(PREFIX) and len(standard_key(secret) or b"") < MIN_KEY_BYTES:
        checker.fail(
            "secret",
            f"A `{PREFIX}` secret must be the base64 of at least {MIN_KEY_BYTES} bytes.",
            UserErrorCode.INVALID,
        )


def _check(given: WebhookInput, refusal: UrlRefusal | None) -> None:
    checker = Checker()
    _check_url(checker, given.url, refusal)
    _check_events(checker, given.events)
    _check_secret(checker, given.secret)
    if checker.errors:
        raise WriteError(checker.errors)


async def create_webhook(
    tx: WriteTransaction, given: WebhookInput, refusal: UrlRefusal | None = None
) -> WebhookRow:
    _check(given, refusal)
    result = await tx.session.execute(
        insert(webhooks).returning(webhooks.c.id),
        {
            "url": given.url,
            "events": list(dict.fromkeys(given.events)),
            "secret": given.secret,
            "created_by": tx.actor,
            "created_at": utcnow(),
        },
    )
    webhook_id = int(result.scalar_one())
    return (await webhooks_by_ids(session=tx.session, ids=[webhook_id]))[0]


async def delete_webhook(tx: WriteTransaction, webhook_id: int) -> None:
    """Its delivery log goes with it; tasks already queued for it find nothing and stop."""
    if await common.locked(tx, webhooks, webhook_id) is None:
        raise WriteError.one("id", "No webhook has this id.", UserErrorCode.NOT_FOUND)
    await tx.session.execute(
        delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
    )
    await tx.session.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


async def record_delivery(tx: WriteTransaction, attempt: DeliveryAttempt) -> bool:
    """Log one attempt; False (and nothing logged) if the webhook was deleted meanwhile."""
    exists = await tx.session.scalar(
        select(webhooks.c.id)
        .where(webhooks.c.id == attempt.webhook_id)
        # Holds off a concurrent delete without making deliveries to one webhook queue up.
        .with_for_update(read=True, key_share=True)
    )
    if exists is None:
        return False
    await tx.session.execute(
        insert(webhook_deliveries),
        {
            "webhook_id": attempt.webhook_id,
            "event_id": attempt.event_id,
            "attempt": attempt.attempt,
            "succeeded": attempt.succeeded,
            "status_code": attempt.status_code,
            "error": None if attempt.error is None else attempt.error[:MAX_ERROR],
            "duration_ms": attempt.duration_ms,
            "attempted_at": utcnow(),
        },
    )
    return True
