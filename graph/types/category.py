"""Categories: a tree, each node with its products and counts."""

from datetime import datetime
from typing import Annotated, Self

import strawberry
from strawberry.types import Info

from db.pagination import Keyset, Page
from db.rows import CategoryRow
from db.writes.categories import MAX_DEPTH
from graph import connections, cursors, ids
from graph.context import Context
from graph.types.demand import COUNT, PAGED, cost, list_size
from graph.types.inputs import ProductFilter, ProductSort
from graph.types.node import Node
from graph.types.page_info import PageInfo
from graph.types.product import ProductConnection

PAGE = connections.PAGE_ARGUMENT_DESCRIPTIONS


@strawberry.federation.type(keys=["id", "slug"], description="A category of the catalog tree.")
class Category(Node):
    slug: str = strawberry.field(description="The category's unique, URL-safe handle.")
    name: str = strawberry.field(description="The category's name.")
    description: str = strawberry.field(description="A plain-text description.")
    level: int = strawberry.field(description="Depth in the tree: 0 for a root.")
    created_at: datetime = strawberry.field(description="When the category was created.")
    updated_at: datetime = strawberry.field(description="When the category last changed.")
    row: strawberry.Private[CategoryRow]

    @classmethod
    def from_row(cls, row: CategoryRow) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("Category", row.id)),
            slug=row.slug,
            name=row.name,
            description=row.description,
            level=row.level,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="The parent category; null for a root.")
    async def parent(self, info: Info[Context, None]) -> "Category | None":
        if self.row.parent_id is None:
            return None
        return Category.from_optional(
            await info.context.loaders.category_by_id.load(self.row.parent_id)
        )

    @strawberry.field(
        description="The direct subcategories, by position, then name.",
        directives=[list_size(assumed_size=10)],
    )
    async def children(self, info: Info[Context, None]) -> list["Category"]:
        rows = await info.context.loaders.children_by_category_id.load(self.row.id)
        return [Category.from_row(row) for row in rows]

    @strawberry.field(
        description="The categories above this one, root first.",
        directives=[list_size(assumed_size=MAX_DEPTH - 1)],
    )
    async def ancestors(self, info: Info[Context, None]) -> list["Category"]:
        rows = await info.context.loaders.ancestors_by_category_id.load(self.row.id)
        return [Category.from_row(row) for row in rows]

    @strawberry.field(
        description="Products the viewer may see in this category's whole subtree, "
        "in stock or not.",
        directives=[cost(2)],
    )
    async def product_count(self, info: Info[Context, None]) -> int:
        return await info.context.loaders.product_count_by_category_id.load(self.row.id)

    @strawberry.field(
        description="A page of this category's products; by name unless sorted.",
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
            ProductSort | None, strawberry.argument(description="The order; NAME ASC if omitted.")
        ] = None,
        include_subcategories: Annotated[
            bool | None,
            strawberry.argument(description="Include the subtree's products (null means true)."),
        ] = True,
        search: Annotated[
            str | None, strawberry.argument(description=connections.SEARCH_DESCRIPTION)
        ] = None,
    ) -> ProductConnection:
        request = connections.PageArguments(first, after, last, before)
        subtree = include_subcategories is not False
        return await connections.category_products(
            info, self.row.id, request, filter, sort_by, subtree, search
        )

    @classmethod
    def from_optional(cls, row: CategoryRow | None) -> "Self | None":
        return None if row is None else cls.from_row(row)


@strawberry.type(description="A category in a list, with its position.")
class CategoryEdge:
    node: Category = strawberry.field(description="The category.")
    keyset: strawberry.Private[Keyset]

    @strawberry.field(description="Pass to `after` or `before` to page from this category.")
    def cursor(self) -> str:
        return cursors.encode(connections.CATEGORY_SORT_NAME, self.keyset)


@strawberry.type(description="A page of categories.")
class CategoryConnection:
    edges: list[CategoryEdge] = strawberry.field(description="The categories on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    total_count: int = strawberry.field(
        description="How many categories match, in all.", directives=[COUNT]
    )


def category_connection(page: Page[CategoryRow]) -> CategoryConnection:
    edges = [
        CategoryEdge(node=Category.from_row(row), keyset=keyset)
        for row, keyset in zip(page.rows, page.keysets, strict=True)
    ]
    return CategoryConnection(
        edges=edges,
        page_info=connections.page_info(page, connections.CATEGORY_SORT_NAME),
        total_count=page.total,
    )
