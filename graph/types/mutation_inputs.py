"""Inputs of the mutations. Optional fields left out are left unchanged."""

from datetime import datetime
from decimal import Decimal

import strawberry

from graph.types.enums import ProductStatus

SLUG = "Lowercase letters, digits and single hyphens; unique."


@strawberry.input(description="One option of a variant, such as Size: M.")
class SelectedOptionInput:
    name: str = strawberry.field(description="The option's name, such as Size.")
    value: str = strawberry.field(description="The chosen value, such as M.")


@strawberry.input(description="A new product. It starts as a DRAFT unless `status` says otherwise.")
class ProductCreateInput:
    slug: str = strawberry.field(description=SLUG)
    name: str = strawberry.field(description="1 to 255 characters.")
    category_id: strawberry.ID = strawberry.field(description="The category to list it in.")
    description: str | None = strawberry.field(default=None, description="Plain text.")
    status: ProductStatus | None = strawberry.field(default=None, description="DRAFT if omitted.")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code of all its variants' prices; USD if omitted."
    )


@strawberry.input(description="Changes to a product; fields left out stay as they are.")
class ProductUpdateInput:
    slug: str | None = strawberry.field(default=None, description=SLUG)
    name: str | None = strawberry.field(default=None, description="1 to 255 characters.")
    description: str | None = strawberry.field(default=None, description="Plain text.")
    status: ProductStatus | None = strawberry.field(
        default=None, description="ARCHIVED hides a product without deleting it."
    )
    category_id: strawberry.ID | None = strawberry.field(default=None, description="Move it here.")
    currency: str | None = strawberry.field(
        default=None, description="Only while the product has no variants."
    )


@strawberry.input(description="A new variant of a product.")
class VariantCreateInput:
    sku: str = strawberry.field(description="Unique in the catalog; at most 64 characters.")
    name: str = strawberry.field(description="1 to 255 characters.")
    price: Decimal = strawberry.field(description="At least 0, at most two decimals.")
    selected_options: list[SelectedOptionInput] | None = strawberry.field(
        default=None, description="At most 10."
    )
    compare_at_price: Decimal | None = strawberry.field(default=None, description="A list price.")
    currency: str | None = strawberry.field(
        default=None, description="Must be the product's currency; taken from it if omitted."
    )
    quantity: int | None = strawberry.field(
        default=None, description="Units in stock; 0 if omitted."
    )
    position: int | None = strawberry.field(default=None, description="Last if omitted.")


@strawberry.input(description="Changes to a variant; fields left out stay as they are.")
class VariantUpdateInput:
    sku: str | None = strawberry.field(default=None, description="Unique in the catalog.")
    name: str | None = strawberry.field(default=None, description="1 to 255 characters.")
    price: Decimal | None = strawberry.field(default=None, description="At least 0, two decimals.")
    compare_at_price: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="A list price; null removes it."
    )
    selected_options: list[SelectedOptionInput] | None = strawberry.field(
        default=None, description="Replaces all options."
    )
    quantity: int | None = strawberry.field(
        default=None, description="Sets the stock; prefer stockAdjust under concurrency."
    )
    position: int | None = strawberry.field(default=None, description="Order among variants.")


@strawberry.input(description="An image to add to a product.")
class ImageInput:
    url: str = strawberry.field(description="An http(s) URL or a path.")
    width: int = strawberry.field(description="Width in pixels.")
    height: int = strawberry.field(description="Height in pixels.")
    alt: str | None = strawberry.field(default=None, description="Alternative text.")
    position: int | None = strawberry.field(default=None, description="Last if omitted.")


@strawberry.input(description="A new category.")
class CategoryCreateInput:
    slug: str = strawberry.field(description=SLUG)
    name: str = strawberry.field(description="1 to 255 characters.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="The parent; a root if omitted."
    )
    description: str | None = strawberry.field(default=None, description="Plain text.")
    position: int | None = strawberry.field(default=None, description="Order among siblings.")


@strawberry.input(description="Changes to a category; fields left out stay as they are.")
class CategoryUpdateInput:
    slug: str | None = strawberry.field(default=None, description=SLUG)
    name: str | None = strawberry.field(default=None, description="1 to 255 characters.")
    description: str | None = strawberry.field(default=None, description="Plain text.")
    parent_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Move the category and its subtree here; null makes it a root.",
    )
    position: int | None = strawberry.field(default=None, description="Order among siblings.")


ExpectedUpdatedAt = datetime | None
EXPECTED_DESCRIPTION = (
    "The updatedAt you last read; if the object changed since, nothing is written and a CONFLICT"
    " user error is returned."
)
