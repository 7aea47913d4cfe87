"""Liveness and readiness: /healthz says the process runs, /readyz checks each dependency."""

import asyncio
import time

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from graph.state import GatewayState

READY_TIMEOUT_SECONDS = 2.0


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _database(state: GatewayState) -> dict[str, object]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; the body says which
        return {"state": "down", "error": type(error).__name__}
    reads = getattr(state.reads, "stats", None)
    return {
        "state": "up",
        "backend": state.engine.dialect.name,
        "latencyMs": round((time.perf_counter() - started) * 1000, 2),
        "reads": None if reads is None else reads(),
    }


def _cache(state: GatewayState) -> dict[str, object]:
    """The cache never makes the gateway unready: without it, reads go to the database."""
    if state.cache is None:
        return {"state": "disabled"}
    backend = "redis" if state.settings.redis_url else "memory"
    stats = state.cache.stats
    return {"state": "degraded" if stats["breakerOpen"] else "up", "backend": backend, **stats}


def _responses(state: GatewayState) -> dict[str, object]:
    """Whole responses kept here; with Redis, whether Redis pushes this process the bumps
    (`watch.connected`) or each hit is checked there."""
    responses = state.responses
    if responses is None:
        return {"state": "disabled"}
    watch = getattr(responses.watch, "stats", None)
    return {"state": "up", **responses.stats(), "watch": None if watch is None else watch()}


def _subscriptions(state: GatewayState) -> dict[str, object]:
    """This process's event hub: where its reader is in the stream, and its subscribers."""
    if state.events is None:
        return {"state": "disabled"}
    backend = "redis" if state.settings.redis_url else "memory"
    up = "up" if state.events.started.is_set() else "starting"
    return {"state": up, "backend": backend, **state.events.stats()}


async def readyz(request: Request) -> JSONResponse:
    state: GatewayState = request.app.state.gateway
    dependencies = {
        "database": await _database(state),
        "cache": _cache(state),
        "subscriptions": _subscriptions(state),
        "responses": _responses(state),
    }
    ready = dependencies["database"]["state"] == "up"
    body = {"status": "ready" if ready else "unavailable", "dependencies": dependencies}
    return JSONResponse(body, status_code=200 if ready else 503)
