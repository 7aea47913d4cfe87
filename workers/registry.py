"""Every task by name, and what running or giving up on one means."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from workers.jobs import Body, fail_job, note_error, run_job
from workers.runtime import Runtime
from workers.tasks.bulk_price import bulk_price_update
from workers.tasks.export import catalog_export
from workers.tasks.report import product_report
from workers.tasks.views import flush_views, track_view
from workers.tasks.webhooks import deliver_webhook

log = logging.getLogger(__name__)
PREFIX = "gateway."
Plain = Callable[[Runtime, dict[str, Any]], Awaitable[None]]

JOBS: dict[str, Body] = {
    "products_bulk_price_update": bulk_price_update,
    "catalog_export": catalog_export,
    "product_report": product_report,
}
PLAIN: dict[str, Plain] = {
    "track_view": track_view,
    "flush_views": flush_views,
    "webhook_deliver": deliver_webhook,
}


def task_names() -> list[str]:
    return [PREFIX + name for name in (*JOBS, *PLAIN)]


async def execute(runtime: Runtime, task: str, args: dict[str, Any]) -> None:
    name = task.removeprefix(PREFIX)
    if name in JOBS:
        await run_job(runtime, int(args["job_id"]), JOBS[name])
    else:
        await PLAIN[name](runtime, args)


async def retrying(
    runtime: Runtime, task: str, args: dict[str, Any], error: str, retry_in: float
) -> None:
    if task.removeprefix(PREFIX) in JOBS:
        await note_error(runtime, int(args["job_id"]), error, retry_in)


async def give_up(runtime: Runtime, task: str, args: dict[str, Any], error: str) -> None:
    log.error("task %s gave up: %s", task, error)
    if task.removeprefix(PREFIX) in JOBS:
        await fail_job(runtime, int(args["job_id"]), error)
