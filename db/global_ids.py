"""The API's Relay ids: base64("Type:key"). Here so that workers (webhook payloads, reports) and
the GraphQL layer encode them one way."""

import binascii


def encode(type_name: str, key: int) -> str:
    # base64.b64encode without its Python frame: one id per object of a response.
    return binascii.b2a_base64(f"{type_name}:{key}".encode(), newline=False).decode()
