"""Rows to bytes and back with orjson: plain data, never pickled objects."""

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar

import orjson

T = TypeVar("T")
Convert = Callable[[Any], Any]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def encode(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


def _converter(hint: Any) -> Convert | None:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        inner = _converter(args[0])
        return None if inner is None else (lambda v: None if v is None else inner(v))
    if hint is Decimal:
        return Decimal
    if hint is datetime:
        return datetime.fromisoformat
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    return None


@cache
def _converters(row_type: type) -> tuple[tuple[str, Convert | None], ...]:
    hints = typing.get_type_hints(row_type)
    return tuple((f.name, _converter(hints[f.name])) for f in dataclasses.fields(row_type))


def decode_row(row_type: type[T], data: dict[str, Any]) -> T:
    values = {
        name: (data[name] if convert is None else convert(data[name]))
        for name, convert in _converters(row_type)  # type: ignore[arg-type]
    }
    return row_type(**values)


def decoder(row_type: type[T]) -> Callable[[bytes], T]:
    return lambda raw: decode_row(row_type, orjson.loads(raw))


def list_decoder(row_type: type[T]) -> Callable[[bytes], list[T]]:
    return lambda raw: [decode_row(row_type, item) for item in orjson.loads(raw)]
