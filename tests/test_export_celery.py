"""catalogExport end to end on PostgreSQL with a real Redis broker and a real `gateway worker`."""

import csv
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from db.engine import create_engine
from db.models import products
from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import Worker, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import Api, finished
from workers.tasks.export import HEADER

pytestmark = pytest.mark.asyncio(loop_scope="session")

BROKER_DB = 14
PRODUCTS = 300
EXPORT = """mutation { catalogExport { job { id status } userErrors { field code } } }"""


@pytest.fixture(scope="module")
def export_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_export")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def export_settings(export_database: str, export_dir: Path) -> Settings:
    base = await seeded(export_database, PRODUCTS)
    return base.model_copy(
        update={
            "celery_broker_url": shared_redis(BROKER_DB),
            "relay_poll_seconds": 0.2,
            "export_dir": export_dir,
        }
    )


@pytest.fixture(scope="module")
def worker(export_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    assert export_settings.celery_broker_url
    env = {
        "DATABASE_URL": export_settings.database_url,
        "CELERY_BROKER_URL": export_settings.celery_broker_url,
        "EXPORT_DIR": str(export_settings.export_dir),
        "BULK_BATCH_SIZE": "40",
        "TASK_RETRY_BASE_SECONDS": "0.2",
    }
    started = Worker(env, tmp_path_factory.mktemp("export-worker") / "worker.log")
    yield started
    started.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def export_client(export_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(export_settings) as client:
        yield client


async def product_ids(settings: Settings) -> set[int]:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(select(products.c.id))).all())
    finally:
        await engine.dispose()


async def test_export_job_on_a_worker_writes_a_file_admins_download(
    worker: Worker, export_client: httpx.AsyncClient, export_settings: Settings, export_dir: Path
) -> None:
    admin = Api(export_client, token(export_settings, Role.ADMIN, "boss"))
    payload = (await admin.query(EXPORT)).data["catalogExport"]
    assert payload["userErrors"] == []
    job = await finished(admin, payload["job"]["id"])
    assert (job["status"], job["attempts"]) == ("SUCCEEDED", 1), (job, str(worker.log))
    result = job["result"]
    name = result["url"].removeprefix("/exports/")
    assert result["bytes"] == (export_dir / name).stat().st_size

    response = await export_client.get(result["url"], headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == HEADER
    assert len(rows) - 1 == result["rows"]
    assert {int(row[0]) for row in rows[1:]} == await product_ids(export_settings)
    assert len(await product_ids(export_settings)) == PRODUCTS
    assert (await export_client.get(result["url"])).status_code == 401
