"""What a response was read from: the generation keys of every entity and list its loaders read.

A request that may be cached collects them (a context variable, so loader batches running as
their own tasks add to it); a write bumps the same keys (db.cache.invalidation), and a cached
response tagged with any of them is dropped. A read no tag describes (a job, a view count) makes
the response uncacheable.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from db.cache.keys import NO_GENERATION


class Tags:
    __slots__ = ("forbidden", "keys", "stamps")

    def __init__(self) -> None:
        self.keys: set[str] = set()
        # The value each generation key had when the cache was read, before any SQL: what a
        # shared response is checked against (a key read without one leaves it unchecked).
        self.stamps: dict[str, bytes | None] = {}
        self.forbidden = False

    @property
    def stamped(self) -> bool:
        return self.keys <= self.stamps.keys()


_CURRENT: ContextVar[Tags | None] = ContextVar("response_tags", default=None)


@contextmanager
def collecting() -> Iterator[Tags]:
    tags = Tags()
    token = _CURRENT.set(tags)
    try:
        yield tags
    finally:
        _CURRENT.reset(token)


def record(keys: Iterable[str]) -> None:
    tags = _CURRENT.get()
    if tags is not None:
        tags.keys.update(keys)
        tags.keys.discard(NO_GENERATION)


def stamp(keys: Iterable[str], values: Iterable[bytes | None]) -> None:
    tags = _CURRENT.get()
    if tags is not None:
        for key, value in zip(keys, values, strict=True):
            if key != NO_GENERATION:
                tags.keys.add(key)
                # The first read stands: a later one may already see a write that rows read
                # before it do not (generations only grow, and the older one fails sooner).
                tags.stamps.setdefault(key, value)


def forbid() -> None:
    """The current response read something no tag describes: it must not be cached."""
    tags = _CURRENT.get()
    if tags is not None:
        tags.forbidden = True
