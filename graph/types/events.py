"""What subscriptions send: one committed change, with the current object it changed."""

import asyncio
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.types import Info

from db.pagination import Keyset
from db.rows import ChangeRow
from graph import cursors, ids
from graph.context import Context
from graph.subscriptions.hub import Batch, Delivery
from graph.types.category import Category
from graph.types.change import CHANGE_SORT_NAME, ChangeKind
from graph.types.job import Job
from graph.types.product import Product


def event_cursor(sequence: int) -> str:
    """The same cursor as the change log's, so `changes(after:)` continues from an event."""
    return cursors.encode(CHANGE_SORT_NAME, Keyset((sequence,)))


def cursor_sequence(cursor: str) -> int:
    return int(cursors.decode(cursor, CHANGE_SORT_NAME, [int]).values[0])


@strawberry.interface(description="One committed change, in commit order.")
class ChangeEvent:
    cursor: str = strawberry.field(
        description="Pass as `after:` when subscribing again to get every event after this one."
    )
    kind: ChangeKind = strawberry.field(description="CREATED, UPDATED or DELETED.")
    changed_fields: list[str] = strawberry.field(description="The API fields that changed.")
    occurred_at: datetime = strawberry.field(description="When the change was committed.")
    row: strawberry.Private[ChangeRow]
    batch: strawberry.Private[Batch | None] = None

    @classmethod
    def from_delivery(cls, delivery: Delivery) -> Self:
        row = delivery.row
        return cls(
            cursor=event_cursor(row.id),
            kind=ChangeKind(str(row.kind)),
            changed_fields=list(row.changed_fields),
            occurred_at=row.occurred_at,
            row=row,
            batch=delivery.batch,
        )

    def shared(self, key: Hashable, compute: Callable[[], "asyncio.Future[Any]"]) -> Any:
        """Subscribers with the same operation, variables and role get one execution."""
        assert self.batch is not None
        return self.batch.shared((key, self.row.id), compute)

    @property
    def deleted(self) -> bool:
        return self.kind is ChangeKind.DELETED


@strawberry.type(description="A product was created, changed or deleted.")
class ProductChangeEvent(ChangeEvent):
    @strawberry.field(description="The product's global id.")
    def product_id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Product", self.row.entity_id))

    @strawberry.field(description="The product as it is now; null once deleted or hidden.")
    async def product(self, info: Info[Context, None]) -> Product | None:
        if self.deleted:
            return None
        row = await info.context.loaders.product_by_id.load(self.row.entity_id)
        return Product.from_row(row) if row and info.context.viewer.can_see(row) else None


@strawberry.type(description="A category was created, changed, moved or deleted.")
class CategoryChangeEvent(ChangeEvent):
    @strawberry.field(description="The category's global id.")
    def category_id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Category", self.row.entity_id))

    @strawberry.field(description="The category as it is now; null once deleted.")
    async def category(self, info: Info[Context, None]) -> Category | None:
        if self.deleted:
            return None
        return Category.from_optional(
            await info.context.loaders.category_by_id.load(self.row.entity_id)
        )


@strawberry.type(description="A job's status, progress, result or error changed.")
class JobUpdateEvent(ChangeEvent):
    @strawberry.field(description="The job's global id.")
    def job_id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode("Job", self.row.entity_id))

    @strawberry.field(description="The job as it is now.")
    async def job(self, info: Info[Context, None]) -> Job | None:
        row = await info.context.loaders.job_by_id.load(self.row.entity_id)
        return None if row is None else Job.from_row(row)
