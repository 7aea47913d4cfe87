"""Trusted documents: stored and looked up as text; what a document means is graph's business."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import trusted_documents


def sha256(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    id: str
    body: str


async def trusted_document(*, session: AsyncSession, key: str) -> str | None:
    """The body registered under `key`: a client's id for it, or the SHA-256 of its text."""
    found = await session.execute(
        select(trusted_documents.c.body)
        .where(or_(trusted_documents.c.id == key, trusted_documents.c.sha256 == key))
        .limit(1)
    )
    return found.scalar_one_or_none()


async def add_trusted_documents(
    *, session: AsyncSession, documents: Iterable[TrustedDocument]
) -> int:
    """Registers (or replaces) each document under its id; returns how many."""
    rows = [{"id": d.id, "sha256": sha256(d.body), "body": d.body} for d in documents]
    if not rows:
        return 0
    await session.execute(
        delete(trusted_documents).where(trusted_documents.c.id.in_([r["id"] for r in rows]))
    )
    await session.execute(insert(trusted_documents), rows)
    await session.commit()
    return len(rows)
