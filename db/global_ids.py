"""The API's Relay ids: base64("Type:key"). Here so that workers (webhook payloads, reports) and
the GraphQL layer encode them one way."""

import base64


def encode(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()
