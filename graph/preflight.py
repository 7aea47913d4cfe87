"""What the commands need before they start, checked one by one: `gateway check` reports every
finding, the other commands stop at the first problem with its one-line fix."""

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from db.availability import is_unavailable
from db.cache.setup import quick_redis
from db.engine import create_unpooled_engine
from db.migrate import revisions
from db.problems import database_problem, redis_problem, unreachable
from db.settings import parse_database_url, redacted
from graph.settings import Settings
from workers.broker import broker_address, ping_broker, ping_worker

CHECK_TIMEOUT_SECONDS = 5.0  # Redis and the broker; the database has its connect timeout
REDIS_PORT = 6379


class Problem(Exception):
    """A configuration or connection problem, said in one line with its fix."""


class Status(StrEnum):
    OK = "ok"
    FAILED = "FAIL"
    SKIPPED = "--"


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    status: Status
    detail: str
    # Failed only because the service cannot be reached now: a server or worker starts anyway
    # and carries on once it answers.
    transient: bool = False

    def line(self) -> str:
        return f"{self.status:<5} {self.name}: {self.detail}"


def _unprefixed(message: str) -> str:
    return message.removeprefix("Value error, ")


def settings_problem(error: ValidationError) -> str:
    """Every refused setting, by its environment variable, on one line."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        message = _unprefixed(item["msg"])
        variable = "_".join(str(part) for part in item["loc"]).upper()
        parts.append(message if not variable or variable in message else f"{variable}: {message}")
    return "; ".join(parts)


def _sqlite_file(settings: Settings) -> Path | None:
    database = parse_database_url(settings.database_url).database
    if not settings.is_sqlite or not database or database.startswith(":"):
        return None
    return Path(database)


async def database_finding(settings: Settings, *, need_head: bool = True) -> Finding:
    """Reachable and migrated: to this release's head, or (`need_head` false, for the servers
    and workers of a rolling upgrade) at least once."""
    where = redacted(settings.database_url)
    sqlite_file = _sqlite_file(settings)
    if sqlite_file is not None and not sqlite_file.exists():
        detail = f"{sqlite_file} does not exist; run `gateway migrate` (or set DATABASE_URL)"
        return Finding("database", Status.FAILED, detail)
    engine = create_unpooled_engine(settings)
    try:
        found = await revisions(engine)
    except Exception as error:
        problem = database_problem(error, settings.database_url)
        if problem is None:
            raise
        transient = unreachable(error) is not None or is_unavailable(error)
        return Finding("database", Status.FAILED, problem, transient)
    finally:
        await engine.dispose()
    if found.current is None:
        detail = f"{where} has no tables; run `gateway migrate`"
        return Finding("database", Status.FAILED, detail)
    if need_head and not found.known:
        detail = f"{where} is at revision {found.current}, newer than this release's {found.head}"
        return Finding("database", Status.FAILED, detail + "; upgrade the gateway")
    if need_head and not found.at_head:
        detail = f"{where} is at revision {found.current}, not {found.head}; run `gateway migrate`"
        return Finding("database", Status.FAILED, detail)
    detail = f"{where} at revision {found.current}"
    if not found.at_head:  # a rolling upgrade's old or new instances: they serve on
        detail += f" (this release migrates to {found.head})"
    return Finding("database", Status.OK, detail)


def _redis_address(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or REDIS_PORT}"


async def redis_finding(settings: Settings) -> Finding:
    if not settings.redis_url:
        detail = "REDIS_URL is not set: the cache and the event stream are in-process"
        return Finding("redis", Status.SKIPPED, detail)
    where = _redis_address(settings.redis_url)
    client = quick_redis(settings.redis_url, CHECK_TIMEOUT_SECONDS)
    try:
        await client.ping()
    except Exception as error:
        problem = redis_problem(error, where, "Redis", "REDIS_URL")
        if problem is None:
            raise
        return Finding("redis", Status.FAILED, problem)
    finally:
        await client.aclose(close_connection_pool=True)
    return Finding("redis", Status.OK, f"{where} answers")


def _broker_variable(settings: Settings) -> str:
    return "CELERY_BROKER_URL" if settings.celery_broker_url else "REDIS_URL"


async def broker_finding(settings: Settings) -> Finding:
    url = settings.broker_url
    if not url:
        detail = "no CELERY_BROKER_URL or REDIS_URL: jobs run inside `gateway serve`"
        return Finding("broker", Status.SKIPPED, detail)
    where = broker_address(url)
    try:
        await asyncio.to_thread(ping_broker, url, CHECK_TIMEOUT_SECONDS)
    except Exception as error:
        problem = redis_problem(error, where, "the broker", _broker_variable(settings))
        if problem is None:
            raise
        return Finding("broker", Status.FAILED, problem)
    return Finding("broker", Status.OK, f"{where} answers")


async def worker_finding(settings: Settings) -> Finding:
    """The Celery worker on this host answers a ping through the broker (a container's
    health check: a worker that lost its broker or hangs is unhealthy)."""
    if not settings.broker_url:
        return Finding("worker", Status.FAILED, "no broker is configured, so no worker runs")
    name = await asyncio.to_thread(ping_worker, settings, CHECK_TIMEOUT_SECONDS)
    if name is None:
        return Finding("worker", Status.FAILED, "no worker on this host answered a ping")
    return Finding("worker", Status.OK, f"{name} answers")


def require(finding: Finding) -> None:
    if finding.status is Status.FAILED:
        raise Problem(finding.detail)


async def check(settings: Settings, *, worker: bool) -> list[Finding]:
    """Everything `gateway check` reports, settings first (they loaded if we are here)."""
    database_type = "SQLite" if settings.is_sqlite else "PostgreSQL"
    findings = [Finding("settings", Status.OK, f"{settings.environment}, {database_type}")]
    findings.append(await database_finding(settings))
    findings.append(await redis_finding(settings))
    broker = await broker_finding(settings)
    findings.append(broker)
    if worker and broker.status is Status.FAILED:
        findings.append(Finding("worker", Status.FAILED, "not pinged: the broker is unreachable"))
    elif worker:
        findings.append(await worker_finding(settings))
    return findings
