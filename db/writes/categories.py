"""The category tree: create, rename, move (with the whole subtree), delete."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from db.models import ChangeKind, categories, products, utcnow
from db.queries.categories import in_subtree, to_row
from db.rows import CategoryRow
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.unit import WriteTransaction
from db.writes.validation import Checker

UNSET: Any = object()
MAX_DEPTH = 10


@dataclass(frozen=True, slots=True)
class CategoryInput:
    """Fields to set; UNSET leaves a field as is. parent_id=None makes a root."""

    slug: str = UNSET
    name: str = UNSET
    description: str = UNSET
    parent_id: int | None = UNSET
    position: int = UNSET


def _check(given: CategoryInput) -> None:
    checker = Checker()
    if given.slug is not UNSET:
        checker.slug("slug", given.slug)
    if given.name is not UNSET:
        checker.text("name", given.name, max_length=255)
    if given.description is not UNSET:
        checker.text("description", given.description, max_length=20_000, blank_ok=True)
    if given.position is not UNSET and not 0 <= given.position <= 1_000_000:
        checker.fail("position", "`position` must be between 0 and 1000000.", UserErrorCode.INVALID)
    if checker.errors:
        raise WriteError(checker.errors)


async def _reload(tx: WriteTransaction, category_id: int) -> CategoryRow:
    result = await tx.session.execute(select(*categories.c).where(categories.c.id == category_id))
    return to_row(result.one())


async def _check_slug(tx: WriteTransaction, slug: str, own_id: int | None) -> None:
    if slug is not UNSET and await common.taken(tx, categories, "slug", slug, own_id):
        raise WriteError.one(("input", "slug"), f"The slug {slug!r} is taken.", UserErrorCode.TAKEN)


async def _parent(tx: WriteTransaction, parent_id: int | None) -> CategoryRow | None:
    if parent_id is None:
        return None
    parent = await common.category(tx, parent_id, "parentId")
    if parent.level + 1 >= MAX_DEPTH:
        raise WriteError.one(
            ("input", "parentId"),
            f"The tree is at most {MAX_DEPTH} levels deep.",
            UserErrorCode.TOO_LARGE,
        )
    return parent


async def create_category(tx: WriteTransaction, given: CategoryInput) -> CategoryRow:
    for name in ("slug", "name"):
        if getattr(given, name) is UNSET:
            raise WriteError.one(("input", name), f"`{name}` is required.", UserErrorCode.BLANK)
    _check(given)
    parent = await _parent(tx, None if given.parent_id is UNSET else given.parent_id)
    await _check_slug(tx, given.slug, None)
    now = utcnow()
    values = {
        "slug": given.slug,
        "name": given.name,
        "description": "" if given.description is UNSET else given.description,
        "parent_id": parent.id if parent else None,
        "level": parent.level + 1 if parent else 0,
        "position": 0 if given.position is UNSET else given.position,
        # The path needs the new id; a unique placeholder until the UPDATE below.
        "path": f"/new-{now.timestamp()}-{given.slug}/",
        "created_at": now,
        "updated_at": now,
    }
    try:
        category_id = (
            await tx.session.execute(insert(categories).returning(categories.c.id), values)
        ).scalar_one()
    except IntegrityError as error:
        raise common.unique_violation(error, "slug") from None
    path = f"{parent.path if parent else '/'}{category_id}/"
    await tx.session.execute(
        update(categories).where(categories.c.id == category_id).values(path=path)
    )
    row = await _reload(tx, category_id)
    fields = ("slug", "name", "description", "parent", "position", "level")
    tx.record("Category", category_id, ChangeKind.CREATED, fields, [*row.ancestor_ids, row.id])
    return row


async def update_category(
    tx: WriteTransaction, category_id: int, given: CategoryInput, expected: datetime | None
) -> CategoryRow:
    _check(given)
    locked = await common.locked(tx, categories, category_id)
    if locked is None:
        raise WriteError.one("id", "No category has this id.", UserErrorCode.NOT_FOUND)
    current = to_row(locked)
    common.check_expected(current.updated_at, expected)
    changed = {
        name: value
        for name in ("slug", "name", "description", "position", "parent_id")
        if (value := getattr(given, name)) is not UNSET and getattr(current, name) != value
    }
    if not changed:
        return current
    await _check_slug(tx, changed.get("slug", UNSET), category_id)
    chain = [*current.ancestor_ids, current.id]
    fields = {("parent" if k == "parent_id" else k) for k in changed}
    if "parent_id" in changed:
        parent = await _parent(tx, changed["parent_id"])
        if parent is not None and parent.path.startswith(current.path):
            raise WriteError.one(
                ("input", "parentId"),
                "A category cannot move under its own subtree.",
                UserErrorCode.CYCLE,
            )
        await _move_subtree(tx, current, parent)
        chain = [*([*parent.ancestor_ids, parent.id] if parent else []), *chain]
        fields |= {"level", "ancestors"}
    try:
        await tx.session.execute(
            update(categories)
            .where(categories.c.id == category_id)
            .values(**changed, updated_at=utcnow())
        )
    except IntegrityError as error:
        raise common.unique_violation(error, "slug") from None
    tx.record("Category", category_id, ChangeKind.UPDATED, fields, chain)
    return await _reload(tx, category_id)


async def _move_subtree(
    tx: WriteTransaction, current: CategoryRow, parent: CategoryRow | None
) -> None:
    """Rewrite the paths and levels of the category and everything under it, in one UPDATE."""
    new_path = f"{parent.path if parent else '/'}{current.id}/"
    delta = (parent.level + 1 if parent else 0) - current.level
    below = in_subtree(categories.c.path, literal(current.path))
    descendants = (
        await tx.session.execute(
            select(categories.c.id, categories.c.path).where(below, categories.c.id != current.id)
        )
    ).all()
    await tx.session.execute(
        update(categories)
        .where(below)
        .values(
            path=literal(new_path) + func.substr(categories.c.path, len(current.path) + 1),
            level=categories.c.level + delta,
        )
    )
    for descendant, old_path in descendants:
        moved = new_path + old_path[len(current.path) :]
        chain = [int(p) for p in f"{old_path}{moved}".replace("//", "/").strip("/").split("/")]
        tx.record("Category", descendant, ChangeKind.UPDATED, ("level", "ancestors"), chain)


async def delete_category(
    tx: WriteTransaction, category_id: int, expected: datetime | None
) -> None:
    locked = await common.locked(tx, categories, category_id)
    if locked is None:
        raise WriteError.one("id", "No category has this id.", UserErrorCode.NOT_FOUND)
    current = to_row(locked)
    common.check_expected(current.updated_at, expected)
    child = await tx.session.scalar(
        select(categories.c.id).where(categories.c.parent_id == category_id).limit(1)
    )
    if child is not None:
        raise WriteError.one(
            "id", "Move or delete the subcategories first.", UserErrorCode.HAS_CHILDREN
        )
    product = await tx.session.scalar(
        select(products.c.id).where(products.c.category_id == category_id).limit(1)
    )
    if product is not None:
        raise WriteError.one(
            "id", "Move or delete the category's products first.", UserErrorCode.HAS_PRODUCTS
        )
    await tx.session.execute(delete(categories).where(categories.c.id == category_id))
    tx.record("Category", category_id, ChangeKind.DELETED, (), [*current.ancestor_ids, current.id])
