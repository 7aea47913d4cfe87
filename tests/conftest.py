"""Fixtures: every API test runs against SQLite and PostgreSQL, each seeded once per session.

PostgreSQL tests skip with a reason when no server answers, except under CI=true, where they fail.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from db.engine import create_unpooled_engine
from db.migrate import upgrade
from db.seed import build_catalog, seed
from graph.app import create_app
from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role
from tests.support import SEED_PRODUCTS, WRITE_SEED_PRODUCTS, Api, Oracle
from workers.webhook_targets import Resolve, system_resolve

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: service-backed tests must run, not skip)")
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


def backend_database(backend: str, name: str, tmp: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path: Path = tmp.mktemp("sqlite") / f"{name}.db"
        yield f"sqlite+aiosqlite:///{path}"
    else:
        yield from postgres_database(f"gateway_test_{os.getpid()}_{name}")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The read-only catalog the query tests compare against the seed."""
    yield from backend_database(request.param, "reads", tmp_path_factory)


@pytest.fixture(scope="session", params=BACKENDS)
def write_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A catalog of its own for the mutation tests, so writes never disturb the read tests."""
    yield from backend_database(request.param, "writes", tmp_path_factory)


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    return Oracle(build_catalog(SEED_PRODUCTS))


async def seeded(database_url: str, products: int) -> Settings:
    # Budgets are off here: the suite sends more than any one client may; tests/test_budget.py
    # turns them on.
    settings = Settings(database_url=database_url, expose_sql_count=True, budget_enabled=False)
    engine = create_unpooled_engine(settings)
    try:
        await upgrade(engine)
        await seed(engine, products)
    finally:
        await engine.dispose()
    return settings


@asynccontextmanager
async def serving(
    settings: Settings, resolve: Resolve = system_resolve
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, resolve)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@pytest_asyncio.fixture(scope="session")
async def settings(database_url: str) -> Settings:
    """Without the cache: these tests pin the statements a cold request needs."""
    seeded_settings = await seeded(database_url, SEED_PRODUCTS)
    return seeded_settings.model_copy(update={"cache_enabled": False})


@pytest_asyncio.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings) as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest_asyncio.fixture(scope="session")
async def write_settings(write_database_url: str) -> Settings:
    return await seeded(write_database_url, WRITE_SEED_PRODUCTS)


@pytest_asyncio.fixture(scope="session")
async def write_client(write_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(write_settings) as client:
        yield client


def token(settings: Settings, role: Role, subject: str = "tester") -> str:
    return issue(settings, role, subject, timedelta(hours=1))


@pytest.fixture
def anonymous(write_client: httpx.AsyncClient) -> Api:
    return Api(write_client)


@pytest.fixture
def editor(write_client: httpx.AsyncClient, write_settings: Settings) -> Api:
    return Api(write_client, token(write_settings, Role.EDITOR, "editor@example.com"))


@pytest.fixture
def admin(write_client: httpx.AsyncClient, write_settings: Settings) -> Api:
    return Api(write_client, token(write_settings, Role.ADMIN, "admin@example.com"))
