"""The root Subscription type: live changes over graphql-transport-ws on /graphql."""

from collections.abc import AsyncIterator
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.context import Context
from graph.subscriptions import fields
from graph.types.events import CategoryChangeEvent, JobUpdateEvent, ProductChangeEvent

AFTER = strawberry.argument(
    description="The last `cursor` you received: first every matching change after it, then "
    "live ones, each exactly once."
)
After = Annotated[str | None, AFTER]


@strawberry.type(description="Changes as they are committed, in commit order, from every instance.")
class Subscription:
    @strawberry.subscription(
        description="Products created, changed or deleted: one product, a category's whole "
        "subtree, or the catalog. Ends after a product given by `id` is deleted."
    )
    async def product_changed(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID | None, strawberry.argument(description="One product.")] = None,
        category_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Products in this category or any below it."),
        ] = None,
        after: After = None,
    ) -> AsyncIterator[ProductChangeEvent]:
        return await fields.product_changed(info.context, id, category_id, after)

    @strawberry.subscription(
        description="Categories created, changed, moved or deleted: one category and those "
        "below it, or all."
    )
    async def category_changed(
        self,
        info: Info[Context, None],
        id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="This category and every category below it."),
        ] = None,
        after: After = None,
    ) -> AsyncIterator[CategoryChangeEvent]:
        return await fields.category_changed(info.context, id, after)

    @strawberry.subscription(
        description="A job's status and progress, for editors: its latest change first, then "
        "each one; ends once the job has SUCCEEDED or FAILED."
    )
    async def job_updated(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's global id.")],
    ) -> AsyncIterator[JobUpdateEvent]:
        return await fields.job_updated(info.context, id)
