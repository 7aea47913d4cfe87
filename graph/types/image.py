"""Product images."""

from typing import Self

import strawberry

from db.rows import ImageRow


@strawberry.type(description="An image of a product.")
class ProductImage:
    url: str = strawberry.field(description="Where the image is served from.")
    alt: str = strawberry.field(description="Alternative text for screen readers.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")

    @classmethod
    def from_row(cls, row: ImageRow) -> Self:
        return cls(url=row.url, alt=row.alt, width=row.width, height=row.height)
