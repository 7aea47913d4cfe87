"""Full-text search over products: the shopper's text parsed, and matched on each backend."""

from typing import Any

# Made by migration 0007 outside the models (their shape differs per backend, and FTS5 adds its
# own shadow tables): schema comparisons leave them alone.
SEARCH_TABLE_PREFIXES = ("product_search", "search_words")


def outside_models(name: str | None, type_: str, _: Any) -> bool:
    """Alembic's `include_name`: false for the search index's tables and their indexes."""
    return not (type_ in ("table", "index") and (name or "").startswith(SEARCH_TABLE_PREFIXES))
