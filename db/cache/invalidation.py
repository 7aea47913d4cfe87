"""What a committed change makes stale, derived from its change rows alone.

Runs after commit and before the mutation answers (read-your-writes), in the gateway for
mutations and in the worker for tasks, so both invalidate the same way; and again in every
gateway from the change log (db.cache.follower), which no outage can lose.
"""

from collections.abc import Iterable, Sequence
from typing import Protocol

from db.cache import keys


class Changed(Protocol):
    """A change record before commit, or a change row read back from the log."""

    @property
    def entity_type(self) -> str: ...

    @property
    def entity_id(self) -> int: ...

    @property
    def category_ids(self) -> Sequence[int]: ...


def stale_keys(records: Iterable[Changed]) -> tuple[list[str], list[str]]:
    """(keys to delete, generation keys to bump)."""
    delete: set[str] = set()
    bump: set[str] = set()
    for record in records:
        entity, key, chain = record.entity_type, record.entity_id, record.category_ids
        if entity == "Product":
            delete |= {keys.product(key), keys.variants(key), keys.images(key)}
            bump |= {keys.product_generation(key), keys.listing_generation(None)}
            bump |= {keys.listing_generation(c) for c in chain}
        elif entity == "ProductVariant":
            delete.add(keys.variant(key))
            bump.add(keys.variant_generation(key))
        elif entity == "Category":
            delete |= {keys.category(key), keys.children(key)}
            delete |= {keys.children(c) for c in chain}
            bump |= {keys.tree_generation(key), keys.CATEGORIES_GENERATION}
            bump |= {keys.tree_generation(c) for c in chain}
            bump |= {keys.listing_generation(c) for c in chain}
            bump.add(keys.listing_generation(None))
    return sorted(delete), sorted(bump)
