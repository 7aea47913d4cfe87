"""What mutations return: the object (null when refused) and the user errors."""

import strawberry

from graph.types.category import Category
from graph.types.image import ProductImage
from graph.types.product import Product
from graph.types.user_error import UserError
from graph.types.variant import ProductVariant

ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(description="The product after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of productDelete.")
class ProductDeletePayload:
    deleted_product_id: strawberry.ID | None = strawberry.field(description="The deleted id.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of a variant mutation.")
class VariantPayload:
    variant: ProductVariant | None = strawberry.field(description="The variant after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of variantDelete.")
class VariantDeletePayload:
    deleted_variant_id: strawberry.ID | None = strawberry.field(description="The deleted id.")
    product: Product | None = strawberry.field(description="Its product after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of productImageAdd.")
class ImagePayload:
    image: ProductImage | None = strawberry.field(description="The new image.")
    product: Product | None = strawberry.field(description="Its product after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of productImageRemove.")
class ImageRemovePayload:
    deleted_image_id: strawberry.ID | None = strawberry.field(description="The deleted id.")
    product: Product | None = strawberry.field(description="Its product after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of a category mutation.")
class CategoryPayload:
    category: Category | None = strawberry.field(description="The category after the change.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)


@strawberry.type(description="The result of categoryDelete.")
class CategoryDeletePayload:
    deleted_category_id: strawberry.ID | None = strawberry.field(description="The deleted id.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS)
