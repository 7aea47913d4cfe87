"""Whole pages in the cache: the key carries the generation of what the page lists."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson

from db.cache import codec, tags
from db.cache import keys as ck
from db.cache.aside import Cache
from db.pagination import Keyset, Page

T = TypeVar("T")
V = TypeVar("V")


def encode_page(page: Page[Any]) -> bytes:
    return codec.encode(
        {
            "rows": page.rows,
            "next": page.has_next,
            "previous": page.has_previous,
            "total": page.total,
        }
    )


def page_decoder(row_type: type[T], keyset: Callable[[T], Keyset]) -> Callable[[bytes], Page[T]]:
    def decode(raw: bytes) -> Page[T]:
        data = orjson.loads(raw)
        rows = [codec.decode_row(row_type, row) for row in data["rows"]]
        keysets = [keyset(row) for row in rows]
        return Page(rows, keysets, data["next"], data["previous"], data["total"])

    return decode


async def cached_page(
    store: Cache | None,
    *,
    name: str,
    generation: str,
    args: Any,
    load: Callable[[], Awaitable[Page[T]]],
    row_type: type[T],
    keyset: Callable[[T], Keyset],
) -> Page[T]:
    """One page that is not per parent (the top-level lists), read through the cache."""
    return await cached_value(
        store,
        name=name,
        generation=generation,
        args=args,
        load=load,
        encode=encode_page,
        decode=page_decoder(row_type, keyset),
    )


async def cached_value(
    store: Cache | None,
    *,
    name: str,
    generation: str,
    args: Any,
    load: Callable[[], Awaitable[V]],
    encode: Callable[[V], bytes],
    decode: Callable[[bytes], V],
) -> V:
    """Anything read for a list (a page, its facets), keyed by `args` and the generation."""
    tags.record((generation,))
    if store is None:
        return await load()
    [current] = await store.generations([generation])
    key = ck.page(name, None, current, args)

    async def fill(_: list[int]) -> dict[int, V]:
        return {0: await load()}

    found = await store.many(
        [0],
        key=lambda _: key,
        generation=lambda _: generation,
        load=fill,
        encode=encode,
        decode=decode,
    )
    return found[0]
