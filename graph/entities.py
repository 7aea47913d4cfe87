"""Federation's `_entities`: each representation a router sends (`{"__typename": "Product",
"id": ...}`) to the row the viewer may see, through the loaders and visibility rules of
`node`/`nodes`, so a request costs one batch per (type, key) it uses. A malformed
representation is a BadUserInput of its own, returned in its place; the others resolve.

Both executors use this: it returns rows (or the error), and each wraps them its own way.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from graph import ids, lookups, nodes
from graph.context import Context
from graph.errors import BadUserInput

# More than a router sends for any operation this subgraph would price under its cost limit.
MAX_REPRESENTATIONS = 1_000

Find = Callable[[Context, str], Awaitable[Any]]


def _by_id(type_name: str) -> Find:
    resolve = nodes.RESOLVERS[type_name]

    async def find(context: Context, value: str) -> Any:
        return await resolve(context, ids.decode_as(value, type_name))

    return find


async def _product_by_slug(context: Context, value: str) -> Any:
    return await lookups.product(context, None, value)


async def _category_by_slug(context: Context, value: str) -> Any:
    return await lookups.category(context, None, value)


# Each entity's `@key`s, in the order a representation's fields are tried.
KEYS: dict[str, dict[str, Find]] = {
    "Product": {"id": _by_id("Product"), "slug": _product_by_slug},
    "ProductVariant": {"id": _by_id("ProductVariant"), "sku": lookups.variant},
    "Category": {"id": _by_id("Category"), "slug": _category_by_slug},
}


def _shown(value: Any) -> str:
    return repr(value)[:100]


def _parse(index: int, representation: Any) -> tuple[Find, str]:
    """How to find the entity a representation names, and its key's value."""
    where = f"Representation {index}"
    if not isinstance(representation, dict):
        raise BadUserInput(f"{where} is not an object: {_shown(representation)}.")
    type_name = representation.get("__typename")
    keys = KEYS.get(type_name) if isinstance(type_name, str) else None
    if keys is None:
        raise BadUserInput(
            f"{where}: `__typename` {_shown(type_name)} is not an entity of this subgraph "
            f"({', '.join(KEYS)})."
        )
    for name, find in keys.items():
        if name in representation:
            value = representation[name]
            if not isinstance(value, str):
                raise BadUserInput(f"{where}: `{name}` must be a string, not {_shown(value)}.")
            return find, value
    raise BadUserInput(f"{where}: a {type_name} is found by {' or '.join(f'`{k}`' for k in keys)}.")


async def _entity(context: Context, index: int, representation: Any) -> Any:
    try:
        find, value = _parse(index, representation)
        return await find(context, value)
    except BadUserInput as error:
        return error


async def entities(context: Context, representations: Sequence[Any]) -> list[Any]:
    """Per representation, in order: its row, None if absent or hidden, or its BadUserInput."""
    if len(representations) > MAX_REPRESENTATIONS:
        raise BadUserInput(
            f"`representations` holds at most {MAX_REPRESENTATIONS:,}; got "
            f"{len(representations):,}."
        )
    found = await asyncio.gather(
        *(_entity(context, index, r) for index, r in enumerate(representations))
    )
    return list(found)
