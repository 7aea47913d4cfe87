"""Opaque keyset cursors: the sort they belong to, the sort values and the row id."""

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from db.pagination import Keyset
from graph.errors import BadUserInput

Parser = Callable[[Any], Any]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError
    return value


def _float(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError
    return float(value)


def _decimal(value: Any) -> Decimal:
    return Decimal(_text(value))


def _datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(_text(value))
    if parsed.tzinfo is None:
        raise ValueError
    return parsed


PARSERS: dict[type, Parser] = {
    str: _text,
    int: _int,
    float: _float,
    Decimal: _decimal,
    datetime: _datetime,
}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# base64.urlsafe_b64encode's alphabet, without its two Python calls per cursor (one per edge).
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode(sort_name: str, keyset: Keyset) -> str:
    # orjson writes a datetime as isoformat() does; `_plain` is called for Decimals only.
    payload = orjson.dumps([sort_name, *keyset.values], default=_plain)
    return binascii.b2a_base64(payload, newline=False).translate(_URLSAFE).decode()


def decode(cursor: str, sort_name: str, types: Sequence[type]) -> Keyset:
    """The keyset of a cursor made for this sort; anything else is bad input."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        if not isinstance(payload, list) or len(payload) != len(types) + 1:
            raise ValueError
        if payload[0] != sort_name:
            raise BadUserInput("The cursor belongs to another sort order; start again without it.")
        return Keyset(tuple(PARSERS[t](v) for t, v in zip(types, payload[1:], strict=True)))
    except (ValueError, TypeError, binascii.Error, UnicodeError, InvalidOperation):
        raise BadUserInput(f"Invalid cursor {cursor[:100]!r}.") from None
