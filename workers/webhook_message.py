"""What a webhook receives for one change: the JSON body and the signed headers, and the check
a receiver runs on them.

The body is built from the change row alone, so every retry of one event sends the same bytes
under the same event id, and a receiver can dedupe on `webhook-id`. Signatures follow Standard
Webhooks (https://www.standardwebhooks.com): `webhook-signature` signs the id, the attempt's
`webhook-timestamp` and the body, so a captured delivery is refused once it is too old; the
older `X-Gateway-*` headers stay for receivers written against them.
"""

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import UTC

import orjson

from db.global_ids import encode as global_id
from db.rows import ChangeRow
from db.webhook_secrets import signing_key
from db.writes import unit

# Standard Webhooks' default: how far a delivery's timestamp may be from the receiver's clock.
TOLERANCE_SECONDS = 300
# Unix seconds keep to 11 digits for 3,000 years; int() of thousands of digits raises instead.
MAX_TIMESTAMP_DIGITS = 12


class SignatureError(ValueError):
    """A delivery not to trust: unsigned, signed with another secret, altered, or replayed."""


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
    """The old `X-Gateway-Signature`: the body alone, keyed with the secret as it is written."""
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: str, content: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + content
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    change: ChangeRow, secret: str, content: bytes, attempt: int, timestamp: int
) -> dict[str, str]:
    """`timestamp`: unix seconds of this attempt, so a retry is as fresh as a first try."""
    message_id = event_id(change.id)
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, message_id, str(timestamp), content),
        "X-Gateway-Event": event_name(change),
        "X-Gateway-Event-Id": message_id,
        "X-Gateway-Signature": signature(secret, content),
        "X-Gateway-Attempt": str(attempt),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> None:
    """What a receiver runs on each delivery before trusting it: raises SignatureError unless
    one `v1` signature in `webhook-signature` matches and `webhook-timestamp` is within
    `tolerance` seconds of `now` (the clock by default), either way."""
    named = {name.lower(): value for name, value in headers.items()}
    try:
        message_id, timestamp = named["webhook-id"], named["webhook-timestamp"]
        given = named["webhook-signature"].split()
    except KeyError as missing:
        raise SignatureError(f"no {missing} header") from None
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        raise SignatureError("webhook-timestamp is not unix seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise SignatureError(f"webhook-timestamp is more than {tolerance}s away")
    expected = standard_signature(secret, message_id, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in given):
        raise SignatureError("no signature matches")
