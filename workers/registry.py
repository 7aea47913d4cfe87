"""Every task by name, and what running or giving up on one means."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from workers.jobs import Body, fail_job, note_error, run_job
from workers.runtime import Runtime
from workers.tasks.bulk_price import bulk_price_update

log = logging.getLogger(__name__)
PREFIX = "gateway."
Plain = Callable[[Runtime, dict[str, Any]], Awaitable[None]]

JOBS: dict[str, Body] = {
    "products_bulk_price_update": bulk_price_update,
}
PLAIN: dict[str, Plain] = {}


def task_names() -> list[str]:
    return [PREFIX + name for name in (*JOBS, *PLAIN)]


async def execute(runtime: Runtime, task: str, args: dict[str, Any]) -> None:
    name = task.removeprefix(PREFIX)
    if name in JOBS:
        await run_job(runtime, int(args["job_id"]), JOBS[name])
    else:
        await PLAIN[name](runtime, args)


async def retrying(runtime: Runtime, task: str, args: dict[str, Any], error: str) -> None:
    if task.removeprefix(PREFIX) in JOBS:
        await note_error(runtime, int(args["job_id"]), error)


async def give_up(runtime: Runtime, task: str, args: dict[str, Any], error: str) -> None:
    log.error("task %s gave up: %s", task, error)
    if task.removeprefix(PREFIX) in JOBS:
        await fail_job(runtime, int(args["job_id"]), error)
