"""A write transaction: the rows, the denormalised values and the change records commit together.

Change rows are inserted last, under a lock held until commit, so their sequence numbers
follow commit order: a reader that has seen change N has seen every change before it.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.availability import DatabaseUnavailable, WriteOutcomeUnknown, is_unavailable
from db.models import ChangeKind, changes, outbox, utcnow, webhooks
from db.writes.outcome import NOT_WRITTEN, OUTCOME_UNKNOWN, committed

# Any constant works; it only has to be the same in every process that writes.
COMMIT_ORDER_LOCK = 0x6761_7465  # "gate"
WEBHOOK_TASK = "gateway.webhook_deliver"
log = logging.getLogger(__name__)
_sqlite_writers: WeakKeyDictionary[Any, asyncio.Lock] = WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    entity_type: str
    entity_id: int
    kind: ChangeKind
    changed_fields: tuple[str, ...]
    category_ids: tuple[int, ...]
    values: dict[str, Any] | None = None

    @property
    def event(self) -> str:
        return event_name(self.entity_type, self.kind)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    task: str
    args: dict[str, Any]
    idempotency_key: str


def event_name(entity_type: str, kind: str) -> str:
    """The webhook event name of a change, such as `product.updated`."""
    return f"{EVENT_NAMES.get(entity_type, entity_type.lower())}.{kind.lower()}"


EVENT_NAMES = {
    "Product": "product",
    "ProductVariant": "variant",
    "ProductImage": "image",
    "Category": "category",
}


@dataclass(slots=True)
class WriteTransaction:
    session: AsyncSession
    actor: str
    records: list[ChangeRecord] = field(default_factory=list)
    sequence: list[int] = field(default_factory=list)
    outbox: list[OutboxRecord] = field(default_factory=list)

    def record(
        self,
        entity_type: str,
        entity_id: int,
        kind: ChangeKind,
        changed_fields: Iterable[str] = (),
        category_ids: Iterable[int] = (),
        values: dict[str, Any] | None = None,
    ) -> None:
        self.records.append(
            ChangeRecord(
                entity_type,
                entity_id,
                kind,
                tuple(sorted(set(changed_fields))),
                tuple(dict.fromkeys(category_ids)),
                values,
            )
        )

    def enqueue(self, task: str, args: dict[str, Any], idempotency_key: str) -> None:
        """Hand `task` to the workers once, after this transaction commits."""
        self.outbox.append(OutboxRecord(task, args, idempotency_key))

    async def _flush(self) -> None:
        await self._flush_records()
        if self.outbox:
            await self.session.execute(
                insert(outbox),
                [
                    {"task": o.task, "args": o.args, "idempotency_key": o.idempotency_key}
                    for o in self.outbox
                ],
            )

    async def _flush_records(self) -> None:
        if not self.records:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMMIT_ORDER_LOCK}
            )
        now = utcnow()
        # One statement for the lot (a bulk job's batch records hundreds), its sequence numbers
        # handed out in the records' order.
        result = await self.session.execute(
            insert(changes).returning(changes.c.id, sort_by_parameter_order=True),
            [
                {
                    "entity_type": record.entity_type,
                    "entity_id": record.entity_id,
                    "kind": record.kind,
                    "changed_fields": list(record.changed_fields),
                    "category_ids": list(record.category_ids),
                    "actor": self.actor,
                    "occurred_at": now,
                    "values": record.values,
                }
                for record in self.records
            ],
        )
        self.sequence.extend(result.scalars())
        await self._fan_out_to_webhooks()

    async def _fan_out_to_webhooks(self) -> None:
        """One delivery task per change and subscribed webhook, in this same transaction."""
        hooks = (await self.session.execute(select(webhooks.c.id, webhooks.c.events))).all()
        for hook_id, events in hooks:
            for record, sequence in zip(self.records, self.sequence, strict=True):
                if "*" in events or record.event in events:
                    self.enqueue(
                        WEBHOOK_TASK,
                        {"webhook_id": hook_id, "change_id": sequence},
                        f"webhook:{hook_id}:{sequence}",
                    )


@asynccontextmanager
async def writer_lock(sessions: async_sessionmaker[Any]) -> AsyncIterator[None]:
    """On SQLite, which allows one writer, writers of this process queue here instead of
    failing with "database is locked"; elsewhere row locks do the job and this is free."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _sqlite_writers.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock:
        yield


@asynccontextmanager
async def write_transaction(
    sessions: async_sessionmaker[Any], actor: str
) -> AsyncIterator[WriteTransaction]:
    """Commits on a clean exit (recording the changes), rolls everything back on an exception;
    then hands the records to the factory's after-commit hook (cache invalidation).

    Never retried: a database that fails under it raises DatabaseUnavailable, saying that
    nothing was written, or WriteOutcomeUnknown when the commit's fate cannot be learnt."""
    async with writer_lock(sessions), sessions() as session:
        tx = WriteTransaction(session, actor)
        committing = False
        try:
            async with session.begin():
                yield tx
                await tx._flush()
                committing = True
        except Exception as error:
            if not is_unavailable(error):
                raise
            applied = await committed(sessions, tx.sequence) if committing else False
            if applied is False:
                raise DatabaseUnavailable(NOT_WRITTEN) from error
            if applied is None:
                # It may have committed: what it would have made stale must go all the same.
                await _after_commit(sessions, tx.records)
                raise WriteOutcomeUnknown(OUTCOME_UNKNOWN) from error
            log.warning("a write's connection dropped during COMMIT; the write had committed")
    await _after_commit(sessions, tx.records)


async def _after_commit(sessions: async_sessionmaker[Any], records: list[ChangeRecord]) -> None:
    after_commit = sessions.kw.get("info", {}).get("after_commit")
    if after_commit is not None and records:
        await after_commit(records)
