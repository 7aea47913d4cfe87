"""What to tell a writer whose database connection failed: whether its transaction committed.

A statement that fails before COMMIT leaves nothing behind: the server rolls the transaction
back when its connection ends. A connection lost during COMMIT leaves the outcome unknown to
the client, so it is looked up: each committed write has change rows, whose ids come from a
sequence and are never reused, so finding the first one means the commit happened and not
finding it means it did not. When the lookup fails too, the outcome is reported as unknown.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.models import changes

log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0
NOT_WRITTEN = "The database is unavailable; nothing was written. Try again shortly."
OUTCOME_UNKNOWN = (
    "The database connection was lost while this change was committing, so it may or may not "
    "have been applied; check before trying again."
)


async def committed(sessions: async_sessionmaker[Any], sequence: Sequence[int]) -> bool | None:
    """Whether the transaction that inserted change `sequence[0]` committed; None: unknown."""
    if not sequence:
        return None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), sessions() as session:
            found = await session.scalar(select(changes.c.id).where(changes.c.id == sequence[0]))
    except Exception as error:  # any failure leaves the outcome unknown, which is reported
        log.warning("could not check whether a write committed: %r", error)
        return None
    return found is not None
