"""Product images: add, remove, reorder. The product's updatedAt moves with them."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update

from db.models import ChangeKind, images
from db.writes import common
from db.writes.errors import UserErrorCode, WriteError
from db.writes.products import touch_product
from db.writes.unit import WriteTransaction
from db.writes.validation import Checker

MAX_IMAGES = 20
MAX_DIMENSION = 100_000


@dataclass(frozen=True, slots=True)
class ImageInput:
    url: str
    alt: str
    width: int
    height: int
    position: int | None = None


def _check(given: ImageInput) -> None:
    checker = Checker()
    checker.url("url", given.url)
    checker.text("alt", given.alt, max_length=512, blank_ok=True)
    for name, value in (("width", given.width), ("height", given.height)):
        if not 1 <= value <= MAX_DIMENSION:
            checker.fail(
                name, f"`{name}` must be 1 to {MAX_DIMENSION} pixels.", UserErrorCode.INVALID
            )
    if checker.errors:
        raise WriteError(checker.errors)


async def _image_ids(tx: WriteTransaction, product_id: int) -> list[int]:
    result = await tx.session.execute(
        select(images.c.id)
        .where(images.c.product_id == product_id)
        .order_by(images.c.position, images.c.id)
    )
    return list(result.scalars())


async def add_image(tx: WriteTransaction, product_id: int, given: ImageInput) -> int:
    _check(given)
    product = await common.locked_product(tx, product_id, "productId")
    existing = await _image_ids(tx, product_id)
    if len(existing) >= MAX_IMAGES:
        raise WriteError.one(
            "productId", f"A product has at most {MAX_IMAGES} images.", UserErrorCode.TOO_LARGE
        )
    position = given.position
    if position is None:
        position = (
            await tx.session.scalar(
                select(func.coalesce(func.max(images.c.position) + 1, 0)).where(
                    images.c.product_id == product_id
                )
            )
        ) or 0
    result = await tx.session.execute(
        insert(images).returning(images.c.id),
        {
            "product_id": product_id,
            "url": given.url,
            "alt": given.alt,
            "width": given.width,
            "height": given.height,
            "position": position,
        },
    )
    image_id = int(result.scalar_one())
    chain = await common.category_chain(tx, product.category_id)
    tx.record(
        "ProductImage", image_id, ChangeKind.CREATED, ("url", "alt", "width", "height"), chain
    )
    await touch_product(tx, product, {"images"}, chain)
    return image_id


async def remove_image(tx: WriteTransaction, image_id: int) -> int:
    owner = await tx.session.scalar(select(images.c.product_id).where(images.c.id == image_id))
    if owner is None:
        raise WriteError.one("imageId", "No image has this id.", UserErrorCode.NOT_FOUND)
    product = await common.locked_product(tx, owner, "imageId")
    await tx.session.execute(delete(images).where(images.c.id == image_id))
    chain = await common.category_chain(tx, product.category_id)
    tx.record("ProductImage", image_id, ChangeKind.DELETED, (), chain)
    await touch_product(tx, product, {"images"}, chain)
    return product.id


async def reorder_images(tx: WriteTransaction, product_id: int, image_ids: Sequence[int]) -> None:
    """`image_ids` must name each of the product's images exactly once, in the new order."""
    product = await common.locked_product(tx, product_id, "productId")
    existing = await _image_ids(tx, product_id)
    if sorted(image_ids) != sorted(existing) or len(set(image_ids)) != len(image_ids):
        raise WriteError.one(
            "imageIds", "List each of the product's images exactly once.", UserErrorCode.INVALID
        )
    if list(image_ids) == existing:
        return
    chain = await common.category_chain(tx, product.category_id)
    result = await tx.session.execute(
        select(images.c.id, images.c.position).where(images.c.product_id == product_id)
    )
    positions = dict(result.all())
    for position, image_id in enumerate(image_ids):
        if positions[image_id] != position:
            await tx.session.execute(
                update(images).where(images.c.id == image_id).values(position=position)
            )
            tx.record("ProductImage", image_id, ChangeKind.UPDATED, ("position",), chain)
    await touch_product(tx, product, {"images"}, chain)
