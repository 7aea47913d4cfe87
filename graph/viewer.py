"""Who is asking, and what that lets them see and do."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from db.models import ProductStatus
from db.rows import ProductRow

PUBLIC = (ProductStatus.ACTIVE,)
STAFF = tuple(ProductStatus)


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    EDITOR = "editor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Viewer:
    role: Role = Role.ANONYMOUS
    subject: str = "anonymous"
    # When the token stops being valid; a WebSocket signed in with it is closed then.
    expires_at: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.ANONYMOUS

    @property
    def visible_statuses(self) -> tuple[ProductStatus, ...]:
        return STAFF if self.is_staff else PUBLIC

    def can_see(self, product: ProductRow) -> bool:
        return product.status in self.visible_statuses


ANONYMOUS = Viewer()
