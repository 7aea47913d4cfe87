"""HTTP caching of GET responses: anonymous query results are public and carry an ETag, so a
browser or CDN revalidates with If-None-Match and gets a 304; anything sent with a token is
private and never stored."""

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Caching:
    headers: dict[str, str] = field(default_factory=dict)
    # The client's copy is current: answer 304 without a body.
    not_modified: bool = False


def etag(content: bytes) -> str:
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    offered = {part.strip().removeprefix("W/") for part in if_none_match.split(",")}
    return "*" in offered or tag in offered


def http_caching(
    method: str,
    if_none_match: str | None,
    *,
    authorization: str | None,
    content: bytes,
    errors: list[dict[str, Any]],
    max_age: int,
) -> Caching:
    if method != "GET":
        return Caching()
    if authorization:
        return Caching({"Cache-Control": "private, no-store"})
    if errors:
        return Caching({"Cache-Control": "no-store"})
    tag = etag(content)
    headers = {
        "Cache-Control": f"public, max-age={max_age}",
        "ETag": tag,
        "Vary": "Accept, Authorization",
    }
    return Caching(headers, _matches(if_none_match, tag))
