"""The change log as GraphQL: one entry per committed change to one entity."""

from datetime import datetime
from enum import Enum
from typing import Self

import strawberry

from db.pagination import Keyset, Page
from db.rows import ChangeRow
from graph import connections, cursors, ids
from graph.types.demand import COUNT
from graph.types.enums import described_enum
from graph.types.page_info import PageInfo

CHANGE_SORT_NAME = "CHANGE"


@described_enum(
    description="What happened to the entity.",
    values={
        "CREATED": "It was created.",
        "UPDATED": "Some of its fields changed; `changedFields` names them.",
        "DELETED": "It was deleted for good.",
    },
)
class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@strawberry.type(description="One committed change to one entity, in commit order.")
class Change:
    sequence: int = strawberry.field(description="Grows with every commit; never reused.")
    entity_type: str = strawberry.field(description="Product, ProductVariant, ProductImage...")
    entity_id: strawberry.ID = strawberry.field(description="The entity's global id.")
    kind: ChangeKind = strawberry.field(description="CREATED, UPDATED or DELETED.")
    changed_fields: list[str] = strawberry.field(description="The API fields that changed.")
    category_ids: list[strawberry.ID] = strawberry.field(
        description="The categories affected, with all their ancestors."
    )
    actor: str = strawberry.field(description="The token subject who made the change.")
    occurred_at: datetime = strawberry.field(description="When the change was committed.")

    @classmethod
    def from_row(cls, row: ChangeRow) -> Self:
        return cls(
            sequence=row.id,
            entity_type=row.entity_type,
            entity_id=strawberry.ID(ids.encode(row.entity_type, row.entity_id)),
            kind=ChangeKind(row.kind),
            changed_fields=list(row.changed_fields),
            category_ids=[strawberry.ID(ids.encode("Category", c)) for c in row.category_ids],
            actor=row.actor,
            occurred_at=row.occurred_at,
        )


@strawberry.type(description="A change in the log, with its position.")
class ChangeEdge:
    node: Change = strawberry.field(description="The change.")
    keyset: strawberry.Private[Keyset]

    @strawberry.field(description="Pass to `after` to read the changes that follow this one.")
    def cursor(self) -> str:
        return cursors.encode(CHANGE_SORT_NAME, self.keyset)


@strawberry.type(description="A page of the change log.")
class ChangeConnection:
    edges: list[ChangeEdge] = strawberry.field(description="The changes on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    total_count: int = strawberry.field(
        description="How many changes the log holds.", directives=[COUNT]
    )

    @classmethod
    def from_page(cls, page: Page[ChangeRow]) -> Self:
        return cls(
            edges=[
                ChangeEdge(node=Change.from_row(row), keyset=keyset)
                for row, keyset in zip(page.rows, page.keysets, strict=True)
            ],
            page_info=connections.page_info(page, CHANGE_SORT_NAME),
            total_count=page.total,
        )
