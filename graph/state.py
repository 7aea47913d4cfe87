"""What the app's lifespan builds and every request reads."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from db.cache.aside import Cache
from db.engine import Sessions
from graph.context import Context
from graph.execution.documents import Documents
from graph.execution.executor import Executor
from graph.execution.persisted import PersistedDocuments
from graph.execution.responses import ResponseCache
from graph.observability.telemetry import Telemetry
from graph.settings import Settings
from graph.subscriptions.hub import EventHub
from graph.viewer import Viewer
from workers.relay import Relay
from workers.webhook_targets import Resolve, system_resolve


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    documents: Documents
    persisted: PersistedDocuments
    executor: Executor
    relay: Relay
    telemetry: Telemetry
    cache: Cache | None = None
    events: EventHub | None = None
    # Sessions for reads only (see db.engine.read_sessions).
    reads: Sessions | None = None
    # Whole responses of planned queries, in this process; None when turned off.
    responses: ResponseCache | None = None
    resolve: Resolve = system_resolve

    def context(self, viewer: Viewer, *, socket: bool = False) -> Context:
        """One operation's context; subscriptions (over a socket only) get the event hub."""
        return Context(
            self.settings,
            self.sessions,
            viewer,
            self.relay.wake,
            self.relay.dispatcher,
            self.cache,
            self.events if socket else None,
            self.reads,
            self.resolve,
        )
