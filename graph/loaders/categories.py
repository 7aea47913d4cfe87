"""Category loaders. A lookup's statement also brings the ancestors, which prime other loaders."""

from collections import defaultdict
from collections.abc import Sequence

from db.cache import codec, tags
from db.cache import keys as ck
from db.cache.aside import Cache, no_generation
from db.engine import Sessions
from db.queries.categories import categories_with_ancestors, children_by_parent_ids
from db.rows import CategoryRow
from graph.loaders.base import SessionLoader, encode_id

CATEGORY = codec.decoder(CategoryRow)
CATEGORIES = codec.list_decoder(CategoryRow)


class AncestorsByCategoryIdLoader(SessionLoader[int, list[CategoryRow]]):
    def __init__(
        self, sessions: Sessions, by_id: "CategoryByIdLoader", store: Cache | None
    ) -> None:
        super().__init__(sessions, store)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[CategoryRow]]:
        found = await self.by_id.with_ancestors(keys)
        return [[found[a] for a in found[k].ancestor_ids] if k in found else [] for k in keys]


class CategoryByIdLoader(SessionLoader[int, CategoryRow | None]):
    def __init__(self, sessions: Sessions, store: Cache | None = None) -> None:
        super().__init__(sessions, store)
        self.ancestors = AncestorsByCategoryIdLoader(sessions, self, store)

    async def with_ancestors(self, ids: Sequence[int]) -> dict[int, CategoryRow]:
        """The categories and all their ancestors; cold, one statement brings both."""
        found = await self._cached(ids)
        missing = {a for row in found.values() for a in row.ancestor_ids} - found.keys()
        if missing:
            found |= await self._cached(sorted(missing))
        self._prime(found)
        return found

    async def _cached(self, ids: Sequence[int]) -> dict[int, CategoryRow]:
        return await self.cached(
            ids, key=ck.category, generation=ck.tree_generation, load=self._load, decode=CATEGORY
        )

    async def _load(self, ids: list[int]) -> dict[int, CategoryRow]:
        async with self.sessions() as session:
            rows = await categories_with_ancestors(session=session, ids=ids)
        return {row.id: row for row in rows}

    def _prime(self, found: dict[int, CategoryRow]) -> None:
        for row in found.values():
            self.prime_missing(row.id, row)
            if all(a in found for a in row.ancestor_ids):
                self.ancestors.prime_missing(row.id, [found[a] for a in row.ancestor_ids])

    async def remember(self, rows: Sequence[CategoryRow]) -> None:
        """Rows another statement already loaded: prime this request, and the cache."""
        known = {row.id: row for row in rows}
        self._prime(known)  # their ancestors' lists too; `brought` primes the rows
        await self.brought(known, key=ck.category, generation=ck.tree_generation)

    async def batch_load_fn(self, keys: Sequence[int]) -> list[CategoryRow | None]:
        found = await self.with_ancestors(keys)
        return [found.get(key) for key in keys]


class CategoryBySlugLoader(SessionLoader[str, CategoryRow | None]):
    """Caches slug -> id; an id whose row no longer has that slug counts as a miss."""

    def __init__(
        self,
        sessions: Sessions,
        by_id: CategoryByIdLoader,
        store: Cache | None = None,
    ) -> None:
        super().__init__(sessions, store)
        self.by_id = by_id

    async def batch_load_fn(self, keys: Sequence[str]) -> list[CategoryRow | None]:
        fresh: dict[int, CategoryRow] = {}

        async def load(slugs: list[str]) -> dict[str, int]:
            rows = await self._rows(slugs)
            fresh.update({row.id: row for row in rows})
            return {row.slug: row.id for row in rows if row.slug in slugs}

        ids = await self.cached(
            keys,
            key=ck.category_slug,
            generation=no_generation,
            load=load,
            decode=int,
            encode=encode_id,
        )
        rest = [ids[slug] for slug in keys if slug in ids and ids[slug] not in fresh]
        rows = fresh | (await self.by_id.with_ancestors(rest) if rest else {})
        found = {row.slug: row for row in rows.values()}
        stale = [slug for slug in keys if slug in ids and slug not in found]
        if stale:
            found.update({row.slug: row for row in await self._rows(stale)})
        if any(key not in found for key in keys):
            # A slug no category has yet: any new or renamed category may take it. (Not a
            # count: `found` holds the ancestors the statement brought too.)
            tags.record((ck.CATEGORIES_GENERATION,))
        return [found.get(key) for key in keys]

    async def _rows(self, slugs: list[str]) -> list[CategoryRow]:
        async with self.sessions() as session:
            rows = await categories_with_ancestors(session=session, slugs=slugs)
        await self.by_id.remember(rows)
        return rows


class ChildrenByCategoryIdLoader(SessionLoader[int, list[CategoryRow]]):
    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[CategoryRow]]:
        found = await self.cached(
            keys,
            key=ck.children,
            generation=ck.tree_generation,
            load=self._load,
            decode=CATEGORIES,
        )
        return [found.get(key, []) for key in keys]

    async def _load(self, parent_ids: list[int]) -> dict[int, list[CategoryRow]]:
        async with self.sessions() as session:
            rows = await children_by_parent_ids(session=session, parent_ids=parent_ids)
        found: defaultdict[int | None, list[CategoryRow]] = defaultdict(list)
        for row in rows:
            found[row.parent_id].append(row)
        return {key: found[key] for key in parent_ids}
