"""Decimal travels as a string so money stays exact; DateTime is always UTC with an offset.

Each names its specification with @specifiedBy, so tools and clients need not guess: DateTime is
RFC 3339's date-time; Decimal is the numeric string of the General Decimal Arithmetic
Specification, the one Python's `decimal` implements (its to-scientific-string is what `str()`
prints, and its numeric-string syntax is what the parser accepts), which unlike a JSON number
keeps every digit and trailing zero ("19.90")."""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

# Far beyond any price; keeps exponents such as 1e400 from reaching arithmetic and SQL.
DECIMAL_LIMIT = Decimal(10) ** 15
DECIMAL_SPEC = "https://speleotrove.com/decimal/daconvs.html"
DATETIME_SPEC = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
# RFC 3339's date-time (section 5.6; a space for the T, as its note allows); Python's
# fromisoformat also takes other ISO 8601 forms ("20260131T1200Z"), which this refuses.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('Decimal values are sent as strings, such as "19.99".')
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{str(value)[:50]!r} is not a decimal number.") from None
    if not parsed.is_finite():
        raise ValueError("Decimal values must be finite.")
    if abs(parsed) >= DECIMAL_LIMIT:
        raise ValueError(f"Decimal values must be below {DECIMAL_LIMIT:,} in size.")
    return parsed


def _parse_decimal_literal(node: ValueNode, _variables: Any = None) -> Decimal:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        # A float literal's source text is exact; parse it without going through float.
        return _parse_decimal(node.value)
    raise ValueError("Decimal values are strings or number literals.")


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime values are RFC 3339 strings.")
    if RFC3339.fullmatch(value) is None:
        if RFC3339.fullmatch(value + "Z"):
            raise ValueError("DateTime values need a time zone offset, such as Z.")
        raise ValueError(
            f"{value[:50]!r} is not an RFC 3339 date and time, such as 2026-01-31T12:00:00Z."
        )
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:  # the right shape, but no such day or time
        raise ValueError(f"{value[:50]!r} is not an RFC 3339 date and time.") from None
    return parsed.astimezone(UTC)


SCALARS: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description='An exact decimal number, serialised as a string such as "19.99".',
        specified_by_url=DECIMAL_SPEC,
        serialize=str,
        parse_value=_parse_decimal,
        parse_literal=_parse_decimal_literal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description='A point in time (RFC 3339), sent in UTC, such as "2026-01-31T12:00:00Z".',
        specified_by_url=DATETIME_SPEC,
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
