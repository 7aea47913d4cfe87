"""Expected write failures: a field, a message and one code from a single enum."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class UserErrorCode(StrEnum):
    BLANK = "BLANK"
    TOO_LONG = "TOO_LONG"
    INVALID = "INVALID"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    NEGATIVE = "NEGATIVE"
    TOO_PRECISE = "TOO_PRECISE"
    TOO_LARGE = "TOO_LARGE"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    HAS_PRODUCTS = "HAS_PRODUCTS"
    HAS_CHILDREN = "HAS_CHILDREN"
    CYCLE = "CYCLE"
    PRIVATE_ADDRESS = "PRIVATE_ADDRESS"


DESCRIPTIONS = {
    UserErrorCode.BLANK: "A required text is empty.",
    UserErrorCode.TOO_LONG: "A text is longer than its limit.",
    UserErrorCode.INVALID: "A value has the wrong form (a slug, a URL, a NUL character...).",
    UserErrorCode.TAKEN: "A unique value (slug, SKU) is already in use.",
    UserErrorCode.NOT_FOUND: "An id names nothing, or nothing the viewer may change.",
    UserErrorCode.CONFLICT: "The object changed since `expectedUpdatedAt`; reload and retry.",
    UserErrorCode.NEGATIVE: "A price or quantity is below zero.",
    UserErrorCode.TOO_PRECISE: "A price has more than two decimals.",
    UserErrorCode.TOO_LARGE: "A number is beyond what the catalog stores.",
    UserErrorCode.UNKNOWN_CURRENCY: "A currency is not an active ISO 4217 code.",
    UserErrorCode.CURRENCY_MISMATCH: "A variant's currency differs from its product's.",
    UserErrorCode.INSUFFICIENT_STOCK: "A stock adjustment would leave less than zero.",
    UserErrorCode.HAS_PRODUCTS: "A category still holds products.",
    UserErrorCode.HAS_CHILDREN: "A category still has subcategories.",
    UserErrorCode.CYCLE: "A category cannot move under itself or its own subtree.",
    UserErrorCode.PRIVATE_ADDRESS: "A webhook URL's host is, or resolves to, an address that is "
    "not public: loopback, private, link-local (cloud metadata), multicast, unspecified or "
    "reserved.",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: tuple[str, ...]
    message: str
    code: UserErrorCode


class WriteError(Exception):
    """Refuses a write; the transaction rolls back and nothing is recorded."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

    @classmethod
    def one(cls, field: str | Sequence[str], message: str, code: UserErrorCode) -> "WriteError":
        path = (field,) if isinstance(field, str) else tuple(field)
        return cls([FieldError(path, message, code)])
