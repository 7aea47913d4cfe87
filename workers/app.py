"""The Celery app, built from settings by whoever starts a worker or a relay; never at import."""

import logging
import random
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from db.availability import DatabaseUnavailable
from workers import registry
from workers.errors import TransientError
from workers.runtime import Runtime, Schedule, build_runtime
from workers.settings import WorkerSettings

log = logging.getLogger(__name__)
# A connection that cannot be opened raises db.availability's ConnectFailed, not an OSError.
TRANSIENT = (
    TransientError,
    DBAPIError,
    DatabaseUnavailable,
    PoolTimeout,
    ConnectionError,
    TimeoutError,
    OSError,
)


class ProcessRuntime:
    """One Runtime per worker process, made in that process on its first task."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.runtime: Runtime | None = None
        self.schedule: Schedule | None = None

    def get(self) -> Runtime:
        if self.runtime is None:
            self.runtime = build_runtime(self.settings)
            self.runtime.schedule = self.schedule
        return self.runtime

    def close(self, **_: Any) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None


def backoff(settings: WorkerSettings, retries: int) -> float:
    return float(settings.task_retry_base_seconds * 2**retries * random.uniform(0.5, 1.5))


def countdown(app: Celery) -> Schedule:
    """How a task running in a worker asks for another one later: the broker holds it."""

    def schedule(delay: float, task: str, args: dict[str, Any]) -> None:
        app.send_task(task, kwargs=args, countdown=delay)

    return schedule


def create_celery(settings: WorkerSettings) -> Celery:
    timeout = settings.broker_timeout_seconds
    app = Celery("gateway", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        broker_connection_timeout=timeout,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.task_visibility_timeout_seconds,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
        },
    )
    runtimes = ProcessRuntime(settings)
    runtimes.schedule = countdown(app)
    worker_process_shutdown.connect(runtimes.close, weak=False)
    for name in registry.task_names():
        _register(app, name, runtimes, settings)
    return app


def _register(app: Celery, name: str, runtimes: ProcessRuntime, settings: WorkerSettings) -> None:
    def run(task: Task[Any, Any], /, **args: Any) -> None:
        runtime = runtimes.get()
        try:
            runtime.run(registry.execute(runtime, name, args))
        except TRANSIENT as error:
            retries = task.request.retries
            message = f"{type(error).__name__}: {error}"
            if retries >= settings.task_max_retries:
                runtime.run(registry.give_up(runtime, name, args, message))
                return
            delay = backoff(settings, retries)
            runtime.run(registry.retrying(runtime, name, args, message, delay))
            raise task.retry(exc=error, countdown=delay) from error
        except Exception as error:
            log.exception("task %s failed", name)
            runtime.run(registry.give_up(runtime, name, args, f"{type(error).__name__}: {error}"))

    app.task(name=name, bind=True, max_retries=settings.task_max_retries)(run)
