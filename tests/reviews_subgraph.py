"""A second subgraph for the federation tests, as another team would write it: reviews of the
catalog's products, which it knows only by id. It adds `Product.reviews` and has
`Review.product`, which the router resolves through the product subgraph's `_entities`."""

import strawberry
from strawberry.asgi import GraphQL


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID

    @strawberry.field
    def reviews(self, info: strawberry.Info) -> list["Review"]:
        return [r for r in info.context["reviews"] if r.product_id == self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Product":
        return cls(id=id)


@strawberry.type
class Review:
    id: strawberry.ID
    rating: int
    product_id: strawberry.Private[strawberry.ID]

    @strawberry.field
    def product(self) -> Product | None:
        return Product(id=self.product_id)


@strawberry.type
class Query:
    @strawberry.field
    def reviews(self, info: strawberry.Info) -> list[Review]:
        return list(info.context["reviews"])


def schema() -> strawberry.federation.Schema:
    return strawberry.federation.Schema(query=Query, federation_version="2.11")


class ReviewsApp(GraphQL[dict[str, list[Review]], None]):
    """The subgraph over HTTP, with its reviews in memory."""

    def __init__(self, reviews: list[Review]) -> None:
        super().__init__(schema())
        self.reviews = reviews

    async def get_context(self, request: object, response: object) -> dict[str, list[Review]]:
        return {"reviews": self.reviews}
