"""View counts a process holds while it has no Redis to gather them in (workers.tasks.views)."""

import asyncio
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class LocalViews:
    counts: Counter[int] = field(default_factory=Counter)
    flush_scheduled: bool = False
    # Running flushes: the loop keeps only weak references to tasks.
    flushing: set[asyncio.Task[None]] = field(default_factory=set)
