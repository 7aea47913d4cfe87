"""The API's Relay ids: base64("Type:key"). Here so that workers (webhook payloads, reports) and
the GraphQL layer encode them one way."""

import binascii
from collections.abc import Callable
from typing import Any


def encode(type_name: str, key: int) -> str:
    # base64.b64encode without its Python frame: one id per object of a response.
    return binascii.b2a_base64(f"{type_name}:{key}".encode(), newline=False).decode()


def row_encoder(type_name: str) -> Callable[[Any], str]:
    """`encode(type_name, row.id)` in one Python call, not two (an id per object of a
    response)."""
    prefix = f"{type_name}:"

    def encode_row(row: Any) -> str:
        return binascii.b2a_base64(f"{prefix}{row.id}".encode(), newline=False).decode()

    return encode_row
