"""webhook_deliver: POST one change to one webhook, logging every attempt.

Every attempt checks the URL's addresses again (workers.webhook_targets). A failed attempt
raises TransientError so the task machinery (Celery or in-process) retries it with backoff; the
attempt that reaches the limit logs the failure and raises nothing. Attempts are counted in
webhook_deliveries, so a redelivered task neither repeats a success nor goes past the limit.
"""

import logging
import time
from dataclasses import dataclass
from typing import Any

from db.queries.changes import change_by_id
from db.queries.webhooks import delivery_history, webhooks_by_ids
from db.rows import ChangeRow, WebhookRow
from db.writes.unit import write_transaction
from db.writes.webhooks import DeliveryAttempt, record_delivery
from workers import webhook_message, webhook_post
from workers.errors import TransientError
from workers.jobs import ACTOR
from workers.runtime import Runtime
from workers.settings import WorkerSettings
from workers.webhook_targets import TargetPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pending:
    webhook: WebhookRow
    change: ChangeRow
    attempt: int


def attempt_limit(settings: WorkerSettings) -> int:
    """The machinery runs a task at most task_max_retries + 1 times; stopping at or before
    that keeps the last failure ours to log instead of its generic give-up."""
    return max(1, min(settings.task_max_retries + 1, settings.webhook_max_attempts))


async def _pending(runtime: Runtime, webhook_id: int, change_id: int) -> Pending | None:
    """None when there is nothing to do: webhook deleted, event delivered or given up on."""
    event_id = webhook_message.event_id(change_id)
    async with runtime.sessions() as session:
        found = await webhooks_by_ids(session=session, ids=[webhook_id])
        change = await change_by_id(session=session, change_id=change_id)
        attempts, delivered = await delivery_history(
            session=session, webhook_id=webhook_id, event_id=event_id
        )
    if not found or change is None or delivered:
        return None
    if attempts >= attempt_limit(runtime.settings):
        return None
    return Pending(found[0], change, attempts + 1)


async def _attempt(runtime: Runtime, pending: Pending) -> DeliveryAttempt:
    content = webhook_message.body(pending.change)
    headers = webhook_message.headers(
        pending.change, pending.webhook.secret, content, pending.attempt, int(time.time())
    )
    policy = TargetPolicy.of(runtime.settings, runtime.resolve)
    started = time.perf_counter()
    response = await webhook_post.post(pending.webhook.url, content, headers, policy)
    return DeliveryAttempt(
        webhook_id=pending.webhook.id,
        event_id=webhook_message.event_id(pending.change.id),
        attempt=pending.attempt,
        succeeded=response.succeeded,
        status_code=response.status_code,
        error=response.error,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


async def deliver_webhook(runtime: Runtime, args: dict[str, Any]) -> None:
    webhook_id, change_id = int(args["webhook_id"]), int(args["change_id"])
    pending = await _pending(runtime, webhook_id, change_id)
    if pending is None:
        return
    outcome = await _attempt(runtime, pending)
    async with write_transaction(runtime.sessions, ACTOR) as tx:
        recorded = await record_delivery(tx, outcome)
    if not recorded:
        log.info("webhook %s was deleted; dropped event %s", webhook_id, outcome.event_id)
        return
    if outcome.succeeded:
        return
    limit = attempt_limit(runtime.settings)
    where = f"webhook {webhook_id} event {outcome.event_id} attempt {outcome.attempt}/{limit}"
    if outcome.attempt >= limit:
        log.error("%s failed, giving up: %s", where, outcome.error)
        return
    log.warning("%s failed, will retry: %s", where, outcome.error)
    raise TransientError(f"{where}: {outcome.error}")
