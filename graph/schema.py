"""The root Query type and the schema built from it."""

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, Literal

import strawberry
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from db.models import JobStatus as DbJobStatus
from graph import connections, entities, ids, lookups, nodes, sdl, search
from graph.context import Context
from graph.mutation import Mutation
from graph.permissions import IsAdmin, IsEditor
from graph.subscription import Subscription
from graph.types.category import Category, CategoryConnection, category_connection
from graph.types.change import ChangeConnection
from graph.types.demand import PAGED, list_size, sized_by
from graph.types.image import ProductImage
from graph.types.inputs import ProductFilter, ProductSort
from graph.types.job import Job, JobConnection, JobStatus
from graph.types.node import Node
from graph.types.product import Product, ProductConnection
from graph.types.scalars import SCALARS
from graph.types.suggestion import SearchSuggestion
from graph.types.variant import ProductVariant
from graph.types.webhook import Webhook, WebhookConnection

PAGE = connections.PAGE_ARGUMENT_DESCRIPTIONS
SEARCH = connections.SEARCH_DESCRIPTION
# Strawberry's newest; Apollo's composition and routers read it (The Guild's composition stops
# at 2.9 so far, which has every directive used here: change this to compose with it).
FEDERATION_VERSION: Literal["2.11"] = "2.11"
# How the graphql-core path wraps the rows graph.nodes returns.
NODE_TYPES: dict[str, Callable[[Any], Node]] = {
    "Product": Product.from_row,
    "ProductVariant": ProductVariant.from_row,
    "ProductImage": ProductImage.from_row,
    "Category": Category.from_row,
    "Job": Job.from_row,
    "Webhook": Webhook.from_row,
}


def as_node(row: Any | None) -> Node | None:
    return None if row is None else NODE_TYPES[nodes.TYPE_NAMES[type(row)]](row)


def as_entity(found: Any) -> Any:
    """A representation's row as its object; its error as is (graphql-core reports it there)."""
    return found if isinstance(found, Exception) else as_node(found)


Entity = Annotated[
    Product | ProductVariant | Category,
    strawberry.union("_Entity", description="Federation: the types a router may ask for by key."),
]

GlobalId = Annotated[strawberry.ID | None, strawberry.argument(description="A global id.")]
Slug = Annotated[str | None, strawberry.argument(description="A unique slug.")]


@strawberry.type(description="Reads of the product catalog.")
class Query:
    @strawberry.field(description="Any object by its global id; null if absent or hidden.")
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        return as_node(await nodes.node(info.context, id))

    @strawberry.field(
        description="Objects by global id, in order, null where absent; at most 100.",
        directives=[list_size(assumed_size=nodes.MAX_NODES)],
        metadata=sized_by("ids"),
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids.")],
    ) -> list[Node | None]:
        return [as_node(row) for row in await nodes.nodes(info.context, ids)]

    @strawberry.field(
        name="_entities",
        description="Federation: the entities a router names by key, in order (`{__typename: "
        '"Product", id: ...}`, or `slug`; ProductVariant by `id` or `sku`; Category by `id` or '
        f"`slug`); null where absent or hidden; at most {entities.MAX_REPRESENTATIONS:,}.",
        directives=[list_size(assumed_size=entities.MAX_REPRESENTATIONS)],
        metadata=sized_by("representations"),
    )
    async def entities(
        self,
        info: Info[Context, None],
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(description="Each entity's `__typename` and one of its keys."),
        ],
    ) -> list[Entity | None]:
        found = await entities.entities(info.context, representations)
        return [as_entity(one) for one in found]

    @strawberry.field(
        description="One product by id or slug (exactly one); null if absent or hidden."
    )
    async def product(
        self, info: Info[Context, None], id: GlobalId = None, slug: Slug = None
    ) -> Product | None:
        return Product.from_optional(await lookups.product(info.context, id, slug))

    @strawberry.field(
        description="A page of products; by name, then id, unless `sortBy` says.",
        directives=[PAGED],
    )
    async def products(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description=PAGE["first"])] = None,
        after: Annotated[str | None, strawberry.argument(description=PAGE["after"])] = None,
        last: Annotated[int | None, strawberry.argument(description=PAGE["last"])] = None,
        before: Annotated[str | None, strawberry.argument(description=PAGE["before"])] = None,
        filter: Annotated[
            ProductFilter | None, strawberry.argument(description="Conditions products meet.")
        ] = None,
        sort_by: Annotated[
            ProductSort | None,
            strawberry.argument(
                description="The order; RELEVANCE with a search, else NAME ASC, if omitted."
            ),
        ] = None,
        search: Annotated[str | None, strawberry.argument(description=SEARCH)] = None,
    ) -> ProductConnection:
        request = connections.PageArguments(first, after, last, before)
        return await connections.products(info, request, filter, sort_by, search)

    @strawberry.field(description="One category by id or slug (exactly one); null if absent.")
    async def category(
        self, info: Info[Context, None], id: GlobalId = None, slug: Slug = None
    ) -> Category | None:
        return Category.from_optional(await lookups.category(info.context, id, slug))

    @strawberry.field(
        description="A page of categories: by level, position, then name, so roots come first.",
        directives=[PAGED],
    )
    async def categories(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description=PAGE["first"])] = None,
        after: Annotated[str | None, strawberry.argument(description=PAGE["after"])] = None,
        last: Annotated[int | None, strawberry.argument(description=PAGE["last"])] = None,
        before: Annotated[str | None, strawberry.argument(description=PAGE["before"])] = None,
        parent_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this category's children.")
        ] = None,
        roots_only: Annotated[
            bool | None, strawberry.argument(description="Only root categories.")
        ] = False,
    ) -> CategoryConnection:
        request = connections.PageArguments(first, after, last, before)
        return category_connection(
            await connections.categories(info, request, parent_id, bool(roots_only))
        )

    @strawberry.field(
        description="For a search box as the shopper types: categories, then product names, "
        "with words that start as the prefix's words do; the viewer's products only.",
        directives=[
            list_size(assumed_size=search.DEFAULT_SUGGESTIONS, slicing_arguments=["first"])
        ],
    )
    async def search_suggestions(
        self,
        info: Info[Context, None],
        prefix: Annotated[str, strawberry.argument(description="What has been typed so far.")],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"How many, 0 to {search.MAX_SUGGESTIONS}; "
                f"{search.DEFAULT_SUGGESTIONS} if omitted."
            ),
        ] = None,
    ) -> list[SearchSuggestion]:
        found = await search.suggestions(info.context, prefix, first)
        return [SearchSuggestion.from_suggestion(one) for one in found]

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="The change log, oldest first, for admins: every committed change.",
        directives=[PAGED],
    )
    async def changes(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description=PAGE["first"])] = None,
        after: Annotated[str | None, strawberry.argument(description=PAGE["after"])] = None,
        last: Annotated[int | None, strawberry.argument(description=PAGE["last"])] = None,
        before: Annotated[str | None, strawberry.argument(description=PAGE["before"])] = None,
    ) -> ChangeConnection:
        request = connections.PageArguments(first, after, last, before)
        return ChangeConnection.from_page(await connections.changes(info, request))

    @strawberry.field(
        permission_classes=[IsEditor], description="A job by id; null if there is none."
    )
    async def job(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's global id.")],
    ) -> Job | None:
        row = await info.context.loaders.job_by_id.load(ids.decode_as(id, "Job"))
        return None if row is None else Job.from_row(row)

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Jobs, oldest first, for admins.",
        directives=[PAGED],
    )
    async def jobs(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description=PAGE["first"])] = None,
        after: Annotated[str | None, strawberry.argument(description=PAGE["after"])] = None,
        last: Annotated[int | None, strawberry.argument(description=PAGE["last"])] = None,
        before: Annotated[str | None, strawberry.argument(description=PAGE["before"])] = None,
        status: Annotated[
            list[JobStatus] | None, strawberry.argument(description="Only jobs in these states.")
        ] = None,
    ) -> JobConnection:
        request = connections.PageArguments(first, after, last, before)
        statuses = None if status is None else [DbJobStatus(s.value) for s in status]
        return JobConnection.from_page(await connections.jobs(info, request, statuses))

    @strawberry.field(
        permission_classes=[IsAdmin],
        description="Webhooks, oldest first, for admins.",
        directives=[PAGED],
    )
    async def webhooks(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, strawberry.argument(description=PAGE["first"])] = None,
        after: Annotated[str | None, strawberry.argument(description=PAGE["after"])] = None,
        last: Annotated[int | None, strawberry.argument(description=PAGE["last"])] = None,
        before: Annotated[str | None, strawberry.argument(description=PAGE["before"])] = None,
    ) -> WebhookConnection:
        request = connections.PageArguments(first, after, last, before)
        return WebhookConnection.from_page(await connections.webhooks(info, request))


@cache
def build_schema() -> strawberry.federation.Schema:
    """Built once per process: a schema holds no connections, only types. It is an Apollo
    Federation subgraph; `as_str()` prints the subgraph SDL, `public_sdl()` the public one."""
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Product, ProductVariant, ProductImage, Category, Job],
        config=StrawberryConfig(scalar_map=SCALARS),
        federation_version=FEDERATION_VERSION,
    )


def public_sdl() -> str:
    """`schema.graphql`: the API's SDL without what only a federation router uses."""
    return sdl.public_sdl(build_schema().as_str())
