"""Where the relay hands tasks: a Celery broker, or (embedded default) a thread of this process."""

import asyncio
import logging
import random
import threading
from collections.abc import Callable
from typing import Any, Protocol

from celery import Celery

from db.cache.aside import Cache
from workers import registry
from workers.app import TRANSIENT
from workers.runtime import Purge, Runtime, build_runtime
from workers.settings import WorkerSettings
from workers.webhook_targets import Resolve, system_resolve

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    async def send(self, task: str, args: dict[str, Any], key: str) -> None:
        """Hand over one task or raise; must return within the broker timeout either way."""

    def close(self) -> None: ...


class CeleryDispatcher:
    def __init__(self, app: Celery, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def send(self, task: str, args: dict[str, Any], key: str) -> None:
        # kombu publishes synchronously; its socket timeouts bound the thread, wait_for bounds us.
        publish = asyncio.to_thread(self.app.send_task, task, kwargs=args, task_id=key, retry=False)
        await asyncio.wait_for(publish, self.timeout)

    def close(self) -> None:
        self.app.close()


class LocalDispatcher:
    """Runs tasks one at a time in a thread with its own loop and engine, off the gateway's loop,
    with the same task code and the same retry policy as a Celery worker."""

    def __init__(
        self,
        settings: WorkerSettings,
        cache: Cache | None = None,
        on_commit: Callable[[], None] | None = None,
        resolve: Resolve = system_resolve,
        purge: Purge | None = None,
    ) -> None:
        """`on_commit` is called from this dispatcher's thread after each commit of a task;
        `purge` (thread-safe) with its change records, before the task can report itself done."""
        self.settings = settings
        self.cache = cache
        self.on_commit = on_commit
        self.resolve = resolve
        self.purge = purge
        self.runtime: Runtime | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="local-jobs", daemon=True)
        self.thread.start()
        self.ready.wait()

    def _serve(self) -> None:
        self.runtime = build_runtime(
            self.settings, self.cache, self._committed, self.resolve, self.purge
        )
        asyncio.set_event_loop(self.runtime.loop)
        self.ready.set()
        self.runtime.loop.run_forever()
        self.runtime.close()

    async def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    async def send(self, task: str, args: dict[str, Any], key: str) -> None:
        assert self.runtime is not None
        asyncio.run_coroutine_threadsafe(self._run(task, args), self.runtime.loop)

    async def _run(self, task: str, args: dict[str, Any]) -> None:
        assert self.runtime is not None
        runtime = self.runtime
        for attempt in range(self.settings.task_max_retries + 1):
            try:
                await registry.execute(runtime, task, args)
                return
            except TRANSIENT as error:
                message = f"{type(error).__name__}: {error}"
                if attempt == self.settings.task_max_retries:
                    await registry.give_up(runtime, task, args, message)
                    return
                delay = self.settings.task_retry_base_seconds * 2**attempt
                delay *= random.uniform(0.5, 1.5)
                await registry.retrying(runtime, task, args, message, delay)
                await asyncio.sleep(delay)
            except Exception as error:
                log.exception("task %s failed", task)
                await registry.give_up(runtime, task, args, f"{type(error).__name__}: {error}")
                return

    def close(self) -> None:
        runtime = self.runtime
        if runtime is not None:
            runtime.loop.call_soon_threadsafe(runtime.loop.stop)
            self.thread.join(timeout=10)
