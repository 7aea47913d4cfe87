"""View counts by product id: one statement per batch; a product never viewed counts 0."""

from collections.abc import Sequence

from db.views import view_counts_by_product_ids
from graph.loaders.base import SessionLoader


class ViewCountByProductIdLoader(SessionLoader[int, int]):
    tagged = False

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        async with self.sessions() as session:
            found = await view_counts_by_product_ids(session=session, product_ids=keys)
        return [found.get(key, 0) for key in keys]
