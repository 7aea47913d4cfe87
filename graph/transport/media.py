"""Content negotiation for GraphQL over HTTP."""

from functools import lru_cache

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _ranges(accept: str) -> list[tuple[str, float]]:
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            out.append((media.lower(), quality))
    return out


# Clients send a handful of Accept headers, over and over; longer ones are not kept.
KEPT_ACCEPT_CHARS = 256


def choose(accept: str | None) -> str | None:
    """The response type for an Accept header, or None when nothing we speak is acceptable.

    No header means application/json, as the GraphQL-over-HTTP spec advises for old clients.
    """
    if not accept:
        return JSON
    if len(accept) <= KEPT_ACCEPT_CHARS:
        return _chosen(accept)
    return _choose(accept)


@lru_cache(maxsize=256)
def _chosen(accept: str) -> str | None:
    return _choose(accept)


def _choose(accept: str) -> str | None:
    best: tuple[float, int, str] | None = None
    for media, quality in _ranges(accept):
        if quality <= 0:
            continue
        for preference, (offered, matches) in enumerate(
            (
                (GRAPHQL_RESPONSE, media == GRAPHQL_RESPONSE),
                (JSON, media in (JSON, "application/*", "*/*")),
            )
        ):
            if matches and (best is None or (quality, -preference) > best[:2]):
                best = (quality, -preference, offered)
    return None if best is None else best[2]


def wants_html(accept: str | None) -> bool:
    return bool(accept) and any(
        media == "text/html" and q > 0 for media, q in _ranges(accept or "")
    )
