"""Enums of the API; the product ones mirror the database's. Every value is described in the
schema: `described_enum` refuses an enum whose values and descriptions differ."""

from collections.abc import Callable, Mapping
from enum import Enum, EnumMeta
from typing import TypeAlias, TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from db.models import ProductStatus as DbProductStatus
from db.queries.products import ProductSortField as DbProductSortField

EnumType = TypeVar("EnumType", bound=EnumMeta)


def described_enum(
    *, description: str, values: Mapping[str, str], name: str | None = None
) -> Callable[[EnumType], EnumType]:
    """`strawberry.enum`, with a description for each value by its name. It works on enums
    defined elsewhere (the database's), where `strawberry.enum_value` cannot be written."""

    def register(cls: EnumType) -> EnumType:
        strawberry.enum(cls, name=name, description=description)
        definition: StrawberryEnumDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
        names = {value.name for value in definition.values}
        if names != set(values):
            raise TypeError(f"describe exactly the values of {definition.name}: {sorted(names)}")
        for value in definition.values:
            value.description = values[value.name]
        return cls

    return register


described_enum(
    name="ProductStatus",
    description="Where a product is in its life: only ACTIVE products are public.",
    values={
        "DRAFT": "Being prepared: editors and admins see it, anonymous viewers do not.",
        "ACTIVE": "Published: everyone sees it.",
        "ARCHIVED": "Withdrawn but kept: editors and admins see it, anonymous viewers do not.",
    },
)(DbProductStatus)

described_enum(
    name="ProductSortField",
    description="What to sort products by; ties always break on id, in the same direction.",
    values={
        "NAME": "The product's name.",
        "PRICE": "The product's lowest variant price, in either direction.",
        "CREATED_AT": "When the product was created.",
        "UPDATED_AT": "When the product last changed.",
        "RELEVANCE": "How well the product matches `search`, best first (the default with a "
        "search; ASC only); without a search, NAME.",
    },
)(DbProductSortField)

# described_enum() registers the database enums in place; the API uses them under these names.
ProductStatus: TypeAlias = DbProductStatus
ProductSortField: TypeAlias = DbProductSortField


@described_enum(
    description="Ascending or descending.",
    values={
        "ASC": "Smallest first: A to Z, cheapest, oldest.",
        "DESC": "Largest first: Z to A, dearest, newest.",
    },
)
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
