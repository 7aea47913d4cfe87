"""A write transaction: the rows, the denormalised values and the change records commit together.

Change rows are inserted last, under a lock held until commit, so their sequence numbers
follow commit order: a reader that has seen change N has seen every change before it.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ChangeKind, changes, utcnow

# Any constant works; it only has to be the same in every process that writes.
COMMIT_ORDER_LOCK = 0x6761_7465  # "gate"
_sqlite_writers: WeakKeyDictionary[Any, asyncio.Lock] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    entity_type: str
    entity_id: int
    kind: ChangeKind
    changed_fields: tuple[str, ...]
    category_ids: tuple[int, ...]


@dataclass(slots=True)
class WriteTransaction:
    session: AsyncSession
    actor: str
    records: list[ChangeRecord] = field(default_factory=list)
    sequence: list[int] = field(default_factory=list)

    def record(
        self,
        entity_type: str,
        entity_id: int,
        kind: ChangeKind,
        changed_fields: Iterable[str] = (),
        category_ids: Iterable[int] = (),
    ) -> None:
        self.records.append(
            ChangeRecord(
                entity_type,
                entity_id,
                kind,
                tuple(sorted(set(changed_fields))),
                tuple(dict.fromkeys(category_ids)),
            )
        )

    async def _flush_records(self) -> None:
        if not self.records:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMMIT_ORDER_LOCK}
            )
        now = utcnow()
        for record in self.records:
            result = await self.session.execute(
                insert(changes).returning(changes.c.id),
                {
                    "entity_type": record.entity_type,
                    "entity_id": record.entity_id,
                    "kind": record.kind,
                    "changed_fields": list(record.changed_fields),
                    "category_ids": list(record.category_ids),
                    "actor": self.actor,
                    "occurred_at": now,
                },
            )
            self.sequence.append(result.scalar_one())


@asynccontextmanager
async def write_transaction(
    sessions: async_sessionmaker[Any], actor: str
) -> AsyncIterator[WriteTransaction]:
    """Commits on a clean exit (recording the changes), rolls everything back on an exception."""
    engine = sessions.kw["bind"]
    lock = None
    if engine.dialect.name == "sqlite":
        # SQLite allows one writer; queueing here beats "database is locked" under load.
        lock = _sqlite_writers.setdefault(engine.sync_engine, asyncio.Lock())
        await lock.acquire()
    try:
        async with sessions() as session, session.begin():
            tx = WriteTransaction(session, actor)
            yield tx
            await tx._flush_records()
    finally:
        if lock is not None:
            lock.release()
