"""The root Mutation type. Each field: permission class, then one call into graph.mutations."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from graph.context import Context
from graph.mutations import categories, images, jobs, products, reports, variants, views, webhooks
from graph.permissions import IsAdmin, IsEditor
from graph.types.inputs import ProductFilter
from graph.types.job import JobPayload
from graph.types.mutation_inputs import (
    EXPECTED_DESCRIPTION,
    CategoryCreateInput,
    CategoryUpdateInput,
    ImageInput,
    ProductCreateInput,
    ProductUpdateInput,
    VariantCreateInput,
    VariantUpdateInput,
)
from graph.types.payloads import (
    CategoryDeletePayload,
    CategoryPayload,
    ImagePayload,
    ImageRemovePayload,
    ProductDeletePayload,
    ProductPayload,
    VariantDeletePayload,
    VariantPayload,
)
from graph.types.views import ViewTrackPayload
from graph.types.webhook import WebhookCreateInput, WebhookDeletePayload, WebhookPayload

Id = Annotated[strawberry.ID, strawberry.argument(description="The object's global id.")]
Expected = Annotated[datetime | None, strawberry.argument(description=EXPECTED_DESCRIPTION)]
INPUT = strawberry.argument(description="What to set.")
EDITOR: list[type[BasePermission]] = [IsEditor]
ADMIN: list[type[BasePermission]] = [IsAdmin]


@strawberry.type(description="Changes to the catalog. Editors change products; admins everything.")
class Mutation:
    @strawberry.mutation(permission_classes=EDITOR, description="Create a product.")
    async def product_create(
        self, info: Info[Context, None], input: Annotated[ProductCreateInput, INPUT]
    ) -> ProductPayload:
        return await products.create(info.context, input)

    @strawberry.mutation(permission_classes=EDITOR, description="Change a product.")
    async def product_update(
        self,
        info: Info[Context, None],
        id: Id,
        input: Annotated[ProductUpdateInput, INPUT],
        expected_updated_at: Expected = None,
    ) -> ProductPayload:
        return await products.update(info.context, id, input, expected_updated_at)

    @strawberry.mutation(
        permission_classes=EDITOR,
        description="Delete a product with its variants and images, for good. To hide a product "
        "but keep it, set its status to ARCHIVED instead.",
    )
    async def product_delete(
        self, info: Info[Context, None], id: Id, expected_updated_at: Expected = None
    ) -> ProductDeletePayload:
        return await products.delete(info.context, id, expected_updated_at)

    @strawberry.mutation(permission_classes=EDITOR, description="Add a variant to a product.")
    async def variant_create(
        self, info: Info[Context, None], product_id: Id, input: Annotated[VariantCreateInput, INPUT]
    ) -> VariantPayload:
        return await variants.create(info.context, product_id, input)

    @strawberry.mutation(permission_classes=EDITOR, description="Change a variant.")
    async def variant_update(
        self,
        info: Info[Context, None],
        id: Id,
        input: Annotated[VariantUpdateInput, INPUT],
        expected_updated_at: Expected = None,
    ) -> VariantPayload:
        return await variants.update(info.context, id, input, expected_updated_at)

    @strawberry.mutation(permission_classes=EDITOR, description="Delete a variant.")
    async def variant_delete(
        self, info: Info[Context, None], id: Id, expected_updated_at: Expected = None
    ) -> VariantDeletePayload:
        return await variants.delete(info.context, id, expected_updated_at)

    @strawberry.mutation(
        permission_classes=EDITOR,
        description="Add `delta` (negative to remove) to a variant's stock, atomically; refused "
        "with INSUFFICIENT_STOCK rather than going below zero.",
    )
    async def stock_adjust(
        self,
        info: Info[Context, None],
        variant_id: Id,
        delta: Annotated[int, strawberry.argument(description="Units to add or remove.")],
    ) -> VariantPayload:
        return await variants.adjust_stock(info.context, variant_id, delta)

    @strawberry.mutation(permission_classes=EDITOR, description="Add an image to a product.")
    async def product_image_add(
        self, info: Info[Context, None], product_id: Id, input: Annotated[ImageInput, INPUT]
    ) -> ImagePayload:
        return await images.add(info.context, product_id, input)

    @strawberry.mutation(permission_classes=EDITOR, description="Remove an image.")
    async def product_image_remove(
        self, info: Info[Context, None], image_id: Id
    ) -> ImageRemovePayload:
        return await images.remove(info.context, image_id)

    @strawberry.mutation(
        permission_classes=EDITOR,
        description="Put a product's images in this order; name each of them exactly once.",
    )
    async def product_images_reorder(
        self,
        info: Info[Context, None],
        product_id: Id,
        image_ids: Annotated[list[strawberry.ID], strawberry.argument(description="Image ids.")],
    ) -> ProductPayload:
        return await images.reorder(info.context, product_id, image_ids)

    @strawberry.mutation(permission_classes=ADMIN, description="Create a category.")
    async def category_create(
        self, info: Info[Context, None], input: Annotated[CategoryCreateInput, INPUT]
    ) -> CategoryPayload:
        return await categories.create(info.context, input)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Change a category; a new parentId moves it with its whole subtree.",
    )
    async def category_update(
        self,
        info: Info[Context, None],
        id: Id,
        input: Annotated[CategoryUpdateInput, INPUT],
        expected_updated_at: Expected = None,
    ) -> CategoryPayload:
        return await categories.update(info.context, id, input, expected_updated_at)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Delete a category; refused while it has products or subcategories.",
    )
    async def category_delete(
        self, info: Info[Context, None], id: Id, expected_updated_at: Expected = None
    ) -> CategoryDeletePayload:
        return await categories.delete(info.context, id, expected_updated_at)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Change every price in a category by a percentage or an amount (rounded "
        "half up to cents, never below 0), in a background job; every changed price is recorded "
        "like any other change, and jobs on the same prices at once add up. The job's result: "
        "`variantsChanged` (prices that changed) and `variantsSeen`.",
    )
    async def products_bulk_price_update(
        self,
        info: Info[Context, None],
        category_id: Id,
        percent: Annotated[
            Decimal | None, strawberry.argument(description='Such as "10" or "-5.5".')
        ] = None,
        amount: Annotated[
            Decimal | None, strawberry.argument(description="Added to each price; may be negative.")
        ] = None,
        include_subcategories: Annotated[
            bool, strawberry.argument(description="Also the subtree's products.")
        ] = True,
    ) -> JobPayload:
        return await jobs.bulk_price_update(
            info.context, category_id, percent, amount, include_subcategories
        )

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Export the products that match `filter`, with their variants, as CSV in a "
        "background job; the job's result holds the file's `url` (GET it with an admin token), "
        "`rows` and `bytes`. Drafts and archived products are included unless `filter.status` "
        "leaves them out.",
    )
    async def catalog_export(
        self,
        info: Info[Context, None],
        filter: Annotated[
            ProductFilter | None,
            strawberry.argument(description="Which products to export; all if omitted."),
        ] = None,
    ) -> JobPayload:
        return await reports.catalog_export(info.context, filter)

    @strawberry.mutation(
        description="Count one view of a product, for anyone who may see it. Views reach "
        "`Product.viewCount` within a few seconds; a view is never a database write of its own."
    )
    async def product_view_track(
        self, info: Info[Context, None], product_id: Id
    ) -> ViewTrackPayload:
        return await views.track(info.context, product_id)

    @strawberry.mutation(
        permission_classes=EDITOR,
        description="Report on a product in a background job: the job's result holds its "
        "`views`, its variants' `priceHistory` from the change log, oldest first, and `stock`.",
    )
    async def product_report(self, info: Info[Context, None], product_id: Id) -> JobPayload:
        return await reports.product_report(info.context, product_id)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Create a webhook: each committed change to the events it names is POSTed "
        "to its URL as signed JSON, retried with backoff until the receiver answers 2xx.",
    )
    async def webhook_create(
        self, info: Info[Context, None], input: Annotated[WebhookCreateInput, INPUT]
    ) -> WebhookPayload:
        return await webhooks.create(info.context, input)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Delete a webhook with its delivery log; pending deliveries are dropped.",
    )
    async def webhook_delete(self, info: Info[Context, None], id: Id) -> WebhookDeletePayload:
        return await webhooks.delete(info.context, id)
