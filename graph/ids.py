"""Relay global ids: base64("Type:key"). Malformed ids and ids of the wrong type are bad input."""

import base64
import binascii

from db.global_ids import encode as encode  # re-exported: the API's one encoder
from db.global_ids import row_encoder as row_encoder
from graph.errors import BadUserInput

MAX_KEY = 2**63 - 1


def decode(global_id: str) -> tuple[str, int]:
    try:
        raw = base64.b64decode(global_id.encode("ascii"), validate=True).decode()
        type_name, _, key = raw.partition(":")
        value = int(key)
    except (binascii.Error, UnicodeError, ValueError):
        raise BadUserInput(f"Malformed id {global_id[:100]!r}.") from None
    if not type_name or not key.isdigit() or not 0 < value <= MAX_KEY:
        raise BadUserInput(f"Malformed id {global_id[:100]!r}.")
    return type_name, value


def decode_as(global_id: str, type_name: str) -> int:
    found, key = decode(global_id)
    if found != type_name:
        raise BadUserInput(f"Id {global_id[:100]!r} is a {found}, not a {type_name}.")
    return key
