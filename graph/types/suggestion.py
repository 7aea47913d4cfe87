"""Suggestions for a search box: categories and product names that start as typed."""

from enum import Enum

import strawberry

from db.queries.search import Suggestion
from graph import ids
from graph.types.enums import described_enum


@described_enum(
    description="What a suggestion names.",
    values={"CATEGORY": "A category: offer its page.", "PRODUCT": "A product name."},
)
class SearchSuggestionKind(Enum):
    CATEGORY = "CATEGORY"
    PRODUCT = "PRODUCT"


TYPE_NAMES = {"CATEGORY": "Category", "PRODUCT": "Product"}


@strawberry.type(description="Text to offer while a shopper types, and what it names.")
class SearchSuggestion:
    text: str = strawberry.field(description="The category's or product's name.")
    kind: SearchSuggestionKind = strawberry.field(description="A category or a product.")
    id: strawberry.ID = strawberry.field(
        description="The global id of the category, or of the first product with this name."
    )

    @classmethod
    def from_suggestion(cls, found: Suggestion) -> "SearchSuggestion":
        return cls(
            text=found.text,
            kind=SearchSuggestionKind(found.kind),
            id=strawberry.ID(ids.encode(TYPE_NAMES[found.kind], found.id)),
        )
