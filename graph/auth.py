"""Bearer tokens: HS256 JWTs carrying a role and a subject.

A token is the caller's input even when it is signed with our secret, so every claim is checked
for type and range here: a malformed one is UNAUTHENTICATED, never an error of the gateway.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.errors import Unauthenticated
from graph.settings import Settings
from graph.viewer import ANONYMOUS, Role, Viewer

ALGORITHM = "HS256"
GRANTABLE = (Role.EDITOR, Role.ADMIN)
MAX_SUBJECT = 255  # the change log's actor column
SUBJECT_RULE = f"a subject is 1 to {MAX_SUBJECT} printable characters"
# RFC 7519's NumericDates; PyJWT also takes strings and booleans for them, which we do not.
TIME_CLAIMS = ("exp", "nbf", "iat")


def issue(settings: Settings, role: Role, subject: str, ttl: timedelta) -> str:
    if not _valid_subject(subject):
        raise ValueError(f"{SUBJECT_RULE}; got {subject[:50]!r}")
    now = datetime.now(UTC)
    try:
        expires = now + ttl
    except OverflowError:
        raise ValueError("the TTL reaches past the year 9999") from None
    claims = {"sub": subject, "role": role.value, "iat": now, "exp": expires}
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def viewer_from_header(settings: Settings, authorization: str | None) -> Viewer:
    """Anonymous without a header; UNAUTHENTICATED for any token that does not verify."""
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the token as `Authorization: Bearer <token>`.")
    claims = _verified_claims(settings, token.strip())
    times = {name: _instant(claims, name) for name in TIME_CLAIMS}
    return Viewer(role=_role(claims), subject=_subject(claims), expires_at=times["exp"])


def _verified_claims(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired.") from None
    # json.loads raises RecursionError, not ValueError, for a deeply nested header, and PyJWT
    # 2.12 and earlier let it through: a token nobody signed could then answer 500.
    except (jwt.InvalidTokenError, RecursionError):
        raise Unauthenticated("The token is malformed or wrongly signed.") from None
    return claims


def _instant(claims: dict[str, Any], name: str) -> datetime | None:
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"The token's `{name}` claim must be a number of seconds.")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):  # NaN, infinities, or outside years 1-9999
        raise Unauthenticated(f"The token's `{name}` claim is out of range.") from None


def _role(claims: dict[str, Any]) -> Role:
    role = claims["role"]
    if not isinstance(role, str) or role not in GRANTABLE:
        raise Unauthenticated("The token names an unknown role.")
    return Role(role)


def _subject(claims: dict[str, Any]) -> str:
    subject = claims["sub"]
    if not isinstance(subject, str) or not _valid_subject(subject):
        raise Unauthenticated(f"The token's subject is invalid: {SUBJECT_RULE}.")
    return subject


def _valid_subject(subject: str) -> bool:
    # It is written to the change log as the actor: PostgreSQL text cannot hold NUL, and a
    # truncated subject could name someone else.
    return 0 < len(subject) <= MAX_SUBJECT and subject.isprintable()


def parse_ttl(text: str) -> timedelta:
    """ "90s", "15m", "1h", "7d" -> a timedelta."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise ValueError(f"a TTL looks like 90s, 15m, 1h or 7d; got {text!r}")
    return timedelta(**{units[unit]: int(number)})
