"""What a webhook receives for one change: the JSON body and the signed headers.

The body is built from the change row alone, so every retry of one event sends the same bytes
under the same event id, and a receiver can dedupe on `X-Gateway-Event-Id`.
"""

import hashlib
import hmac
from datetime import UTC

import orjson

from db.global_ids import encode as global_id
from db.rows import ChangeRow
from db.writes import unit


def event_id(change_id: int) -> str:
    return f"change-{change_id}"


def event_name(change: ChangeRow) -> str:
    return unit.event_name(change.entity_type, change.kind)


def body(change: ChangeRow) -> bytes:
    occurred = change.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps(
        {
            "id": event_id(change.id),
            "event": event_name(change),
            "occurredAt": occurred,
            "sequence": change.id,
            "entity": {
                "type": change.entity_type,
                "id": global_id(change.entity_type, change.entity_id),
            },
            "changedFields": list(change.changed_fields),
            "categoryIds": [global_id("Category", c) for c in change.category_ids],
            "values": change.values,
        }
    )


def signature(secret: str, content: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def headers(change: ChangeRow, secret: str, content: bytes, attempt: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gateway-Event": event_name(change),
        "X-Gateway-Event-Id": event_id(change.id),
        "X-Gateway-Signature": signature(secret, content),
        "X-Gateway-Attempt": str(attempt),
    }
