"""The subscription fields: check the arguments, then follow the matching changes."""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from db.models import ChangeKind, ProductStatus
from db.queries.changes import latest_change_id, latest_change_of
from db.rows import ChangeRow
from graph import ids
from graph.context import Context
from graph.errors import BadUserInput, Forbidden, Unauthenticated
from graph.subscriptions.feed import follow
from graph.subscriptions.hub import Delivery, EventHub, Watch
from graph.types.events import (
    CategoryChangeEvent,
    ChangeEvent,
    JobUpdateEvent,
    ProductChangeEvent,
    cursor_sequence,
)
from graph.viewer import Role

E = TypeVar("E", bound=ChangeEvent)
Keep = Callable[[Context, ChangeRow], Awaitable[bool]]


def _hub(context: Context) -> EventHub:
    if context.events is None:
        raise BadUserInput("Subscriptions need a WebSocket (graphql-transport-ws) on /graphql.")
    return context.events


async def _after(context: Context, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    sequence = cursor_sequence(cursor)
    async with context.sessions() as session:
        newest = await latest_change_id(session=session)
    if not 0 <= sequence <= newest:
        raise BadUserInput(f"The cursor {cursor[:100]!r} is not one this change log gave out.")
    return sequence


async def _events(
    context: Context,
    deliveries: AsyncGenerator[Delivery, None],
    event_type: type[E],
    keep: Keep | None = None,
    last: Callable[[ChangeRow], bool] | None = None,
) -> AsyncIterator[E]:
    """Each event resolves its object through loaders its batch shares (read from the
    database, not the cache: another process may publish a change before its writer has
    invalidated the cache)."""
    async with contextlib.aclosing(deliveries):
        async for delivery in deliveries:
            context.loaders = delivery.batch.loaders_for(context.viewer)
            if keep is not None and not await keep(context, delivery.row):
                continue  # nor may a hidden change end the stream: that too would tell
            key = (event_type, delivery.row.id)
            yield delivery.batch.event(key, _maker(event_type, delivery))
            if last is not None and last(delivery.row):
                return


def _maker(event_type: type[E], delivery: Delivery) -> Callable[[], E]:
    return lambda: event_type.from_delivery(delivery)


async def _visible_product(context: Context, row: ChangeRow) -> bool:
    """Anonymous viewers see a change if the product was public before or after it (so they
    learn when one is hidden), judged from the statuses the change recorded, not from the
    product as it is by the time the event is read. Rows recorded without them (by an older
    version) fall back to the product as it is now."""
    if context.viewer.is_staff:
        return True
    values = row.values or {}
    after = values.get("status")
    if after is None and "previousStatus" not in values:
        product = await context.loaders.product_by_id.load(row.entity_id)
        return product is not None and context.viewer.can_see(product)
    before = values.get("previousStatus", after)
    return ProductStatus.ACTIVE in (after, before)


async def _check_category(context: Context, key: int, given: str | None) -> None:
    """Unknown ids are refused up front, unless resuming: what was deleted meanwhile is news."""
    if await context.loaders.category_by_id.load(key) is None:
        raise BadUserInput(f"No category has the id {given!r}.")


def _watch(entity: int | None, category: int | None) -> Watch:
    if entity is not None:
        return ("entity", entity)
    return None if category is None else ("category", category)


def _deleted(row: ChangeRow) -> bool:
    return row.kind == ChangeKind.DELETED


async def product_changed(
    context: Context, id_: str | None, category_id: str | None, after: str | None
) -> AsyncIterator[ProductChangeEvent]:
    hub = _hub(context)
    product = None if id_ is None else ids.decode_as(id_, "Product")
    category = None if category_id is None else ids.decode_as(category_id, "Category")
    sequence = await _after(context, after)
    if product is not None:
        row = await context.loaders.product_by_id.load(product)
        if (row is None or not context.viewer.can_see(row)) and sequence is None:
            raise BadUserInput(f"No product has the id {id_!r}.")
    if category is not None and sequence is None:
        await _check_category(context, category, category_id)

    def matches(row: ChangeRow) -> bool:
        return (product is None or row.entity_id == product) and (
            category is None or category in row.category_ids
        )

    watch = _watch(product, category)
    deliveries = follow(hub, context.sessions, "Product", matches, sequence, watch=watch)
    last = None if product is None else _deleted
    return _events(context, deliveries, ProductChangeEvent, _visible_product, last)


async def category_changed(
    context: Context, id_: str | None, after: str | None
) -> AsyncIterator[CategoryChangeEvent]:
    hub = _hub(context)
    category = None if id_ is None else ids.decode_as(id_, "Category")
    sequence = await _after(context, after)
    if category is not None and sequence is None:
        await _check_category(context, category, id_)

    def matches(row: ChangeRow) -> bool:
        return category is None or category in row.category_ids

    def last(row: ChangeRow) -> bool:
        return row.entity_id == category and _deleted(row)

    watch = _watch(None, category)
    deliveries = follow(hub, context.sessions, "Category", matches, sequence, watch=watch)
    return _events(context, deliveries, CategoryChangeEvent, None, last)


def _require_editor(context: Context) -> None:
    if context.viewer.role is Role.ANONYMOUS:
        raise Unauthenticated("Sign in: send a bearer token in connection_init's payload.")
    if not context.viewer.is_staff:
        raise Forbidden("This needs the editor or admin role.")


async def job_updated(context: Context, id_: str) -> AsyncIterator[JobUpdateEvent]:
    """The job's latest change first (its state now), then each change; ends once it has
    finished."""
    _require_editor(context)
    hub = _hub(context)
    job = ids.decode_as(id_, "Job")
    if await context.loaders.job_by_id.load(job) is None:
        raise BadUserInput(f"No job has the id {id_!r}.")

    async def latest() -> ChangeRow | None:
        async with context.sessions() as session:
            return await latest_change_of(session=session, entity_type="Job", entity_id=job)

    def finished(row: ChangeRow) -> bool:
        return "finishedAt" in row.changed_fields

    deliveries = follow(
        hub,
        context.sessions,
        "Job",
        lambda row: row.entity_id == job,
        None,
        latest,
        ("entity", job),
    )
    return _events(context, deliveries, JobUpdateEvent, None, finished)
