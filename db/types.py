"""Column types that keep money exact and time zone-aware on every backend."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from operator import methodcaller
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

CENTS = Decimal("0.01")
# PostgreSQL's type ids for `timestamp with time zone`.
TIMESTAMPTZ_OID = 1184

# SQLite only aliases INTEGER PRIMARY KEY to the rowid, so BIGINT keys become INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Byte order ("C" collation) makes the materialised path's range predicate match its index.
PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


class Money(TypeDecorator[Decimal]):
    """NUMERIC(12, 2) on PostgreSQL; integer cents on SQLite, which has no exact decimal type."""

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(CENTS)
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(CENTS)
        return Decimal(value).quantize(CENTS)

    def direct_result_processor(self, oid: int) -> Callable[[Decimal], Decimal]:
        """process_result_value for a value asyncpg read (a Decimal, never None), without
        TypeDecorator's wrapper around it (db.direct): the method itself, called without a
        Python frame (a product row has two of these, a variant two more)."""
        return _QUANTIZE


def quantized(value: Decimal) -> Decimal:
    return value.quantize(CENTS)


_QUANTIZE: Callable[[Decimal], Decimal] = methodcaller("quantize", CENTS)


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # a timestamptz as asyncpg reads it
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in and out; SQLite stores them as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _in_utc(value)

    def direct_result_processor(self, oid: int) -> Callable[[datetime], datetime] | None:
        """process_result_value for a value asyncpg read (never None), without TypeDecorator's
        wrapper around it (db.direct); none for a `timestamptz`, which asyncpg reads as a
        datetime in `datetime.UTC`, what `_in_utc` returns it as."""
        return None if oid == TIMESTAMPTZ_OID else _in_utc
