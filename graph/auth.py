"""Bearer tokens: HS256 JWTs carrying a role and a subject."""

from datetime import UTC, datetime, timedelta

import jwt

from graph.errors import Unauthenticated
from graph.settings import Settings
from graph.viewer import ANONYMOUS, Role, Viewer

ALGORITHM = "HS256"
GRANTABLE = (Role.EDITOR, Role.ADMIN)


def issue(settings: Settings, role: Role, subject: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "role": role.value, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def viewer_from_header(settings: Settings, authorization: str | None) -> Viewer:
    """Anonymous without a header; UNAUTHENTICATED for any token that does not verify."""
    if not authorization:
        return ANONYMOUS
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send the token as `Authorization: Bearer <token>`.")
    try:
        claims = jwt.decode(
            token.strip(),
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is malformed or wrongly signed.") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise Unauthenticated("The token names an unknown role.") from None
    if role not in GRANTABLE or not isinstance(claims["sub"], str):
        raise Unauthenticated("The token names an unknown role.")
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    return Viewer(role=role, subject=claims["sub"][:255], expires_at=expires)


def parse_ttl(text: str) -> timedelta:
    """ "90s", "15m", "1h", "7d" -> a timedelta."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) <= 0:
        raise ValueError(f"a TTL looks like 90s, 15m, 1h or 7d; got {text!r}")
    return timedelta(**{units[unit]: int(number)})
