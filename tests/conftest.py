"""Fixtures: every API test runs against SQLite and PostgreSQL, each seeded once per session.

PostgreSQL tests skip with a reason when no server answers, except under CI=true, where they fail.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from db.engine import create_unpooled_engine
from db.migrate import upgrade
from db.seed import build_catalog, seed
from graph.app import create_app
from graph.settings import Settings
from tests.support import SEED_PRODUCTS, Api, Oracle

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_database(name: str) -> Iterator[str]:
    """A fresh database for this run; dropped afterwards."""
    try:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}")
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "gateway.db"
        yield f"sqlite+aiosqlite:///{path}"
    else:
        yield from postgres_database(f"gateway_test_{os.getpid()}")


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    return Oracle(build_catalog(SEED_PRODUCTS))


@pytest_asyncio.fixture(scope="session")
async def settings(database_url: str) -> Settings:
    settings = Settings(database_url=database_url, expose_sql_count=True)
    engine = create_unpooled_engine(settings)
    try:
        await upgrade(engine)
        await seed(engine, SEED_PRODUCTS)
    finally:
        await engine.dispose()
    return settings


@pytest_asyncio.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
