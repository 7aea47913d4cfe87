"""Checks every write applies, whoever calls it: a mutation today, a task tomorrow."""

import re
from decimal import Decimal

from db.currencies import CURRENCIES
from db.writes.errors import FieldError, UserErrorCode

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_PRICE = Decimal("9999999999.99")  # NUMERIC(12, 2)
MAX_QUANTITY = 2**31 - 1


class Checker:
    """Collects every problem of one input, so a client can fix them all at once."""

    def __init__(self, prefix: tuple[str, ...] = ("input",)) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str, code: UserErrorCode) -> None:
        self.errors.append(FieldError((*self.prefix, field), message, code))

    def text(self, field: str, value: str, *, max_length: int, blank_ok: bool = False) -> None:
        if "\x00" in value:
            self.fail(field, f"`{field}` must not contain NUL characters.", UserErrorCode.INVALID)
        elif len(value) > max_length:
            self.fail(
                field, f"`{field}` is longer than {max_length} characters.", UserErrorCode.TOO_LONG
            )
        elif not blank_ok and not value.strip():
            self.fail(field, f"`{field}` must not be blank.", UserErrorCode.BLANK)

    def slug(self, field: str, value: str) -> None:
        self.text(field, value, max_length=255)
        if not self.errors_for(field) and SLUG.fullmatch(value) is None:
            self.fail(
                field,
                f"`{field}` must be lowercase letters, digits and single hyphens, like `red-shoe`.",
                UserErrorCode.INVALID,
            )

    def price(self, field: str, value: Decimal) -> None:
        if not value.is_finite():
            self.fail(field, f"`{field}` must be a finite number.", UserErrorCode.INVALID)
        elif value < 0:
            self.fail(field, f"`{field}` must not be negative.", UserErrorCode.NEGATIVE)
        elif value > MAX_PRICE:
            self.fail(field, f"`{field}` is above {MAX_PRICE}.", UserErrorCode.TOO_LARGE)
        elif value != value.quantize(Decimal("0.01")):
            self.fail(field, f"`{field}` has more than two decimals.", UserErrorCode.TOO_PRECISE)

    def quantity(self, field: str, value: int) -> None:
        if value < 0:
            self.fail(field, f"`{field}` must not be negative.", UserErrorCode.NEGATIVE)
        elif value > MAX_QUANTITY:
            self.fail(field, f"`{field}` is above {MAX_QUANTITY}.", UserErrorCode.TOO_LARGE)

    def currency(self, field: str, value: str) -> None:
        if value not in CURRENCIES:
            self.fail(
                field,
                f"`{field}` must be an ISO 4217 code such as USD; got {value[:10]!r}.",
                UserErrorCode.UNKNOWN_CURRENCY,
            )

    def url(self, field: str, value: str) -> None:
        self.text(field, value, max_length=2048)
        if not self.errors_for(field) and not value.startswith(("https://", "http://", "/")):
            self.fail(field, f"`{field}` must be an http(s) URL or a path.", UserErrorCode.INVALID)

    def errors_for(self, field: str) -> list[FieldError]:
        return [e for e in self.errors if e.field[-1] == field]
