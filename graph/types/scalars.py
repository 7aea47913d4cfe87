"""Decimal travels as a string so money stays exact; DateTime is always UTC with an offset."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

# Far beyond any price; keeps exponents such as 1e400 from reaching arithmetic and SQL.
DECIMAL_LIMIT = Decimal(10) ** 15


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
        raise ValueError("DateTime values are ISO 8601 strings.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:50]!r} is not an ISO 8601 date and time.") from None
    if parsed.tzinfo is None:
        raise ValueError("DateTime values need a time zone offset, such as Z.")
    return parsed.astimezone(UTC)


SCALARS: dict[object, ScalarDefinition] = {
    Decimal: strawberry.scalar(
        name="Decimal",
        description='An exact decimal number, serialised as a string such as "19.99".',
        serialize=str,
        parse_value=_parse_decimal,
        parse_literal=_parse_decimal_literal,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description='A point in time, ISO 8601 in UTC, such as "2026-01-31T12:00:00Z".',
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
