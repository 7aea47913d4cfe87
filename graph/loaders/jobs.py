"""Jobs by id."""

from collections.abc import Sequence

from db.jobs import jobs_by_ids
from db.rows import JobRow
from graph.loaders.base import SessionLoader


class JobByIdLoader(SessionLoader[int, JobRow | None]):
    tagged = False

    async def batch_load_fn(self, keys: Sequence[int]) -> list[JobRow | None]:
        async with self.sessions() as session:
            found = {row.id: row for row in await jobs_by_ids(session=session, ids=keys)}
        return [found.get(key) for key in keys]
