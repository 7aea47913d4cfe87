"""A webhook secret's signing key, as the write that accepts a secret and the worker that signs
with it both read it.

Standard Webhooks secrets are `whsec_` and the base64 of the key; ours began as free text. A
secret in the standard form is decoded, so it works as it is in the Standard Webhooks libraries;
any other secret signs with its UTF-8 bytes (give those libraries `whsec_` + their base64).
"""

import base64
import binascii

PREFIX = "whsec_"
MIN_KEY_BYTES = 16


def standard_key(secret: str) -> bytes | None:
    """The key a `whsec_` secret encodes; None for any other secret, or one that is no base64."""
    if not secret.startswith(PREFIX):
        return None
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        return None


def signing_key(secret: str) -> bytes:
    return standard_key(secret) or secret.encode()
