"""What the app's lifespan builds and every request reads."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from db.cache.aside import Cache
from graph.executor import Executor
from graph.settings import Settings
from workers.relay import Relay


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    executor: Executor
    relay: Relay
    cache: Cache | None = None
