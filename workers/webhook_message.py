"""What a webhook receives for one change: the JSON body and the signed headers.

The body is built from the change row alone, so every retry of one event sends the same bytes
under the same event id, and a receiver can dedupe on `X-Gateway-Event-Id`.
"""

import base64
import hashlib
import hmac
from datetime import UTC

import orjson

from db.rows import ChangeRow
from db.writes.unit import EVENT_NAMES


def global_id(type_name: str, key: int) -> str:
    """The API's Relay id (graph.ids.encode); workers never import graph, so it is repeated."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def event_id(change_id: int) -> str:
    return f"change-{change_id}"


def event_name(change: ChangeRow) -> str:
    entity = EVENT_NAMES.get(change.entity_type, change.entity_type.lower())
    return f"{entity}.{change.kind.lower()}"


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
