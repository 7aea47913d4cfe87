"""productImageAdd, productImageRemove, productImagesReorder."""

from collections.abc import Sequence

import strawberry

from db.queries.variants import images_by_ids
from db.writes import images as writes
from graph import ids
from graph.context import Context
from graph.mutations.base import perform, product
from graph.types.image import ProductImage
from graph.types.mutation_inputs import ImageInput
from graph.types.payloads import ImagePayload, ImageRemovePayload, ProductPayload


async def add(context: Context, product_id: str, given: ImageInput) -> ImagePayload:
    key = ids.decode_as(product_id, "Product")
    data = writes.ImageInput(
        url=given.url,
        alt=given.alt or "",
        width=given.width,
        height=given.height,
        position=given.position,
    )
    image_id, errors = await perform(context, lambda tx: writes.add_image(tx, key, data))
    image = None
    if image_id is not None:
        async with context.sessions() as session:
            image = ProductImage.from_row((await images_by_ids(session=session, ids=[image_id]))[0])
    return ImagePayload(
        image=image, product=await product(context, None if errors else key), user_errors=errors
    )


async def remove(context: Context, image_id: str) -> ImageRemovePayload:
    key = ids.decode_as(image_id, "ProductImage")
    product_id, errors = await perform(context, lambda tx: writes.remove_image(tx, key))
    return ImageRemovePayload(
        deleted_image_id=None if errors else strawberry.ID(image_id),
        product=await product(context, product_id),
        user_errors=errors,
    )


async def reorder(context: Context, product_id: str, image_ids: Sequence[str]) -> ProductPayload:
    key = ids.decode_as(product_id, "Product")
    order = [ids.decode_as(image_id, "ProductImage") for image_id in image_ids]
    _, errors = await perform(context, lambda tx: writes.reorder_images(tx, key, order))
    return ProductPayload(
        product=None if errors else await product(context, key), user_errors=errors
    )
