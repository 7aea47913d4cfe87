"""Who is asking, and which products that lets them see."""

from dataclasses import dataclass

from db.models import ProductStatus
from db.rows import ProductRow

PUBLIC = (ProductStatus.ACTIVE,)
STAFF = tuple(ProductStatus)


@dataclass(frozen=True, slots=True)
class Viewer:
    role: str = "anonymous"

    @property
    def visible_statuses(self) -> tuple[ProductStatus, ...]:
        return PUBLIC if self.role == "anonymous" else STAFF

    def can_see(self, product: ProductRow) -> bool:
        return product.status in self.visible_statuses


ANONYMOUS = Viewer()
