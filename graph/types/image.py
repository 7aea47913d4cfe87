"""Product images."""

from typing import Self

import strawberry

from db.rows import ImageRow
from graph import ids
from graph.types.node import Node


@strawberry.type(description="An image of a product.")
class ProductImage(Node):
    url: str = strawberry.field(description="Where the image is served from.")
    alt: str = strawberry.field(description="Alternative text for screen readers.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")
    row: strawberry.Private[ImageRow]

    @classmethod
    def from_row(cls, row: ImageRow) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("ProductImage", row.id)),
            url=row.url,
            alt=row.alt,
            width=row.width,
            height=row.height,
            row=row,
        )
