"""Category loaders. A lookup's statement also brings the ancestors, which prime other loaders."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.queries.categories import categories_with_ancestors, children_by_parent_ids
from db.rows import CategoryRow
from graph.loaders.base import SessionLoader


class AncestorsByCategoryIdLoader(SessionLoader[int, list[CategoryRow]]):
    def __init__(self, sessions: async_sessionmaker[Any], by_id: "CategoryByIdLoader") -> None:
        super().__init__(sessions)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[CategoryRow]]:
        found = {row.id: row for row in await self.by_id.fetch(ids=keys)}
        return [[found[a] for a in found[k].ancestor_ids] if k in found else [] for k in keys]


class CategoryByIdLoader(SessionLoader[int, CategoryRow | None]):
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        super().__init__(sessions)
        self.ancestors = AncestorsByCategoryIdLoader(sessions, self)

    async def fetch(
        self, *, ids: Sequence[int] = (), slugs: Sequence[str] = ()
    ) -> list[CategoryRow]:
        """Load categories with their ancestors and prime both loaders with what came back."""
        async with self.sessions() as session:
            rows = await categories_with_ancestors(session=session, ids=ids, slugs=slugs)
        found = {row.id: row for row in rows}
        for row in rows:
            self.prime_missing(row.id, row)
            if all(a in found for a in row.ancestor_ids):
                self.ancestors.prime_missing(row.id, [found[a] for a in row.ancestor_ids])
        return rows

    async def batch_load_fn(self, keys: Sequence[int]) -> list[CategoryRow | None]:
        found = {row.id: row for row in await self.fetch(ids=keys)}
        return [found.get(key) for key in keys]


class CategoryBySlugLoader(SessionLoader[str, CategoryRow | None]):
    def __init__(self, sessions: async_sessionmaker[Any], by_id: CategoryByIdLoader) -> None:
        super().__init__(sessions)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[str]) -> list[CategoryRow | None]:
        found = {row.slug: row for row in await self.by_id.fetch(slugs=keys)}
        return [found.get(key) for key in keys]


class ChildrenByCategoryIdLoader(SessionLoader[int, list[CategoryRow]]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[CategoryRow]]:
        async with self.sessions() as session:
            rows = await children_by_parent_ids(session=session, parent_ids=keys)
        found: defaultdict[int | None, list[CategoryRow]] = defaultdict(list)
        for row in rows:
            found[row.parent_id].append(row)
        return [found[key] for key in keys]
