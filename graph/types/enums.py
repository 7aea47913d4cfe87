"""Enums of the API; the product ones mirror the database's."""

from enum import Enum
from typing import TypeAlias

import strawberry

from db.models import ProductStatus as DbProductStatus
from db.queries.products import ProductSortField as DbProductSortField

strawberry.enum(
    DbProductStatus,
    name="ProductStatus",
    description="Where a product is in its life: only ACTIVE products are public.",
)

strawberry.enum(
    DbProductSortField,
    name="ProductSortField",
    description="What to sort products by; ties always break on id, in the same direction.",
)

# strawberry.enum() registers the database enums in place; the API uses them under these names.
ProductStatus: TypeAlias = DbProductStatus
ProductSortField: TypeAlias = DbProductSortField


@strawberry.enum(description="Ascending or descending.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
