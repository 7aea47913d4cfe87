"""Every cache key, in one place, so readers and the invalidation that follows writes agree.

Entity keys are guarded by per-entity generations; list pages and counts put their parent's
generation in the key itself, so a write that bumps it orphans every old page at once.
"""

import hashlib
from typing import Any

SCHEMA_VERSION = 1
NS = f"gw:v{SCHEMA_VERSION}"
# Every generation key starts so (db.cache.watch follows them by it).
GENERATIONS = f"{NS}:g:"
NO_GENERATION = f"{GENERATIONS}none"


def product(product_id: int) -> str:
    return f"{NS}:product:{product_id}"


def product_slug(slug: str) -> str:
    return f"{NS}:product-slug:{slug}"


def product_generation(product_id: int) -> str:
    """Guards the product, its variant list and its image list."""
    return f"{NS}:g:product:{product_id}"


def variants(product_id: int) -> str:
    return f"{NS}:variants:{product_id}"


def images(product_id: int) -> str:
    return f"{NS}:images:{product_id}"


def variant(variant_id: int) -> str:
    return f"{NS}:variant:{variant_id}"


def variant_sku(sku: str) -> str:
    return f"{NS}:variant-sku:{sku}"


def variant_generation(variant_id: int) -> str:
    return f"{NS}:g:variant:{variant_id}"


def category(category_id: int) -> str:
    return f"{NS}:category:{category_id}"


def category_slug(slug: str) -> str:
    return f"{NS}:category-slug:{slug}"


def children(category_id: int) -> str:
    return f"{NS}:children:{category_id}"


def tree_generation(category_id: int) -> str:
    """Guards the category row and its children list."""
    return f"{NS}:g:tree:{category_id}"


def listing_generation(category_id: int | None) -> str:
    """Bumped by any change to a product in the category's subtree (None: the whole catalog)."""
    return f"{NS}:g:listing:{'all' if category_id is None else category_id}"


CATEGORIES_GENERATION = f"{NS}:g:categories"


def digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def page(scope: str, parent: int | None, generation: bytes | None, args: Any) -> str:
    gen = (generation or b"0").decode()
    return f"{NS}:page:{scope}:{parent}:{gen}:{digest(args)}"


def count(scope: str, category_id: int, generation: bytes | None) -> str:
    gen = (generation or b"0").decode()
    return f"{NS}:count:{scope}:{category_id}:{gen}"
