"""catalogExport, productViewTrack / viewCount and productReport, with jobs run in-process.

Every test runs on SQLite and PostgreSQL against the shared write catalog; jobs run in the
gateway's LocalDispatcher thread, with the same task code a Celery worker runs.
"""

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, session_factory
from db.global_ids import encode as global_id
from db.jobs import jobs_by_ids
from db.models import outbox
from db.reports import start_product_report
from db.views import add_views, view_counts_by_product_ids
from db.writes.products import delete_product
from db.writes.unit import write_transaction
from graph import ids
from graph.settings import Settings
from graph.state import GatewayState
from graph.transport.exports import export_path
from tests.celery_support import SHARED_REDIS
from tests.conftest import unavailable
from tests.support import Api, finished
from tests.test_mutations_products import LEAF, create
from tests.test_mutations_variants import VARIANT_UPDATE, variant
from workers.dispatch import LocalDispatcher
from workers.runtime import Runtime
from workers.tasks import views as view_tasks
from workers.tasks.export import HEADER, catalog_export, file_name

EXPORT = """mutation($filter: ProductFilter) { catalogExport(filter: $filter) {
  job { id status kind } userErrors { field code message } } }"""
PRODUCTS = """query($filter: ProductFilter, $after: String) {
  products(first: 100, after: $after, filter: $filter) {
    edges { node { id slug status variants { sku price { amount } quantityAvailable } } }
    pageInfo { hasNextPage endCursor } } }"""
TRACK = """mutation($id: ID!) { productViewTrack(productId: $id) {
  recorded userErrors { field code message } } }"""
VIEWS = "query($id: ID) { product(id: $id) { id viewCount } }"
REPORT = """mutation($id: ID!) { productReport(productId: $id) {
  job { id status kind } userErrors { field code message } } }"""
VIEWS_REDIS_DB = 13


# --- helpers -------------------------------------------------------------------------------


def gateway_of(client: httpx.AsyncClient) -> GatewayState:
    state: GatewayState = client._transport.app.state.gateway  # type: ignore[attr-defined]
    return state


def local_runtime(client: httpx.AsyncClient) -> Runtime:
    dispatcher = gateway_of(client).relay.dispatcher
    assert isinstance(dispatcher, LocalDispatcher)
    assert dispatcher.runtime is not None
    return dispatcher.runtime


async def start(api: Api, document: str, field: str, variables: dict[str, Any]) -> str:
    payload = (await api.query(document, variables)).data[field]
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["job"]["status"] == "QUEUED"
    return str(payload["job"]["id"])


async def export(admin: Api, flt: dict[str, Any] | None) -> dict[str, Any]:
    job = await finished(admin, await start(admin, EXPORT, "catalogExport", {"filter": flt}))
    assert job["status"] == "SUCCEEDED", job
    result: dict[str, Any] = job["result"]
    return result


async def expected_lines(admin: Api, flt: dict[str, Any] | None) -> list[tuple[int, str, str]]:
    """(product id, sku, price) for each line the export should hold, read through the API."""
    lines: list[tuple[int, str, str]] = []
    after = None
    while True:
        page = (await admin.query(PRODUCTS, {"filter": flt, "after": after})).data["products"]
        for edge in page["edges"]:
            product = edge["node"]
            key = ids.decode_as(product["id"], "Product")
            variants = product["variants"] or [{"sku": "", "price": {"amount": ""}}]
            lines += [(key, v["sku"], v["price"]["amount"]) for v in variants]
        if not page["pageInfo"]["hasNextPage"]:
            return sorted(lines)
        after = page["pageInfo"]["endCursor"]


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def parse(body: str) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(body))
    assert tuple(next(reader)) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in reader]


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements an engine sends, from any thread."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(statement)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def export_dir(write_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app and its in-process jobs share these settings: point them at a fresh directory,
    and make batches small so an export spans many of them."""
    directory = tmp_path / "exports"
    monkeypatch.setattr(write_settings, "export_dir", directory)
    monkeypatch.setattr(write_settings, "bulk_batch_size", 7)
    return directory


@pytest_asyncio.fixture
async def engine(write_settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the write catalog, for what the API cannot show."""
    made = create_engine(write_settings)
    yield made
    await made.dispose()


# --- catalogExport -------------------------------------------------------------------------


async def test_export_holds_the_filtered_catalog_and_admins_download_it(
    admin: Api, editor: Api, export_dir: Path
) -> None:
    formula = await create(editor, name="=HYPERLINK(1)")
    await variant(editor, formula["id"], sku=f"-{formula['slug']}", price="3.00", quantity=2)
    flt = {"categoryId": LEAF, "status": ["ACTIVE", "DRAFT"]}
    result = await export(admin, flt)
    name = result["url"].removeprefix("/exports/")
    assert result["url"].startswith("/exports/catalog-")
    stored = export_dir / name
    assert result["bytes"] == stored.stat().st_size
    assert listing(export_dir) == [name]  # no temporary file left behind

    response = await admin.client.get(result["url"], headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == stored.read_bytes()
    lines = parse(response.text)
    assert len(lines) == result["rows"]
    got = sorted((int(r["product_id"]), r["sku"].removeprefix("'"), r["price"]) for r in lines)
    assert got == await expected_lines(admin, flt)
    assert {r["status"] for r in lines} <= {"ACTIVE", "DRAFT"}
    [made] = [r for r in lines if r["product_id"] == str(ids.decode(formula["id"])[1])]
    assert (made["product_name"], made["sku"]) == ("'=HYPERLINK(1)", f"'-{formula['slug']}")
    assert (made["status"], made["currency"], made["quantity"]) == ("DRAFT", "USD", "2")


async def test_export_without_a_filter_holds_every_product_in_every_status(
    admin: Api, export_dir: Path
) -> None:
    result = await export(admin, None)
    lines = parse((export_dir / result["url"].removeprefix("/exports/")).read_text())
    total = (await admin.query("{ products(first: 0) { totalCount } }")).data["products"]
    assert len({r["product_id"] for r in lines}) == total["totalCount"]
    assert {r["status"] for r in lines} >= {"ACTIVE", "DRAFT"}


async def test_a_redelivered_export_rewrites_the_same_file_whole(
    admin: Api, export_dir: Path, write_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    result = await export(admin, {"categoryId": LEAF})
    name = result["url"].removeprefix("/exports/")
    first = (export_dir / name).read_bytes()
    job_id = int(name.split("-")[1])
    async with session_factory(engine)() as session:
        [job] = await jobs_by_ids(session=session, ids=[job_id])
    assert file_name(job) == name
    runtime = local_runtime(write_client)
    again = asyncio.run_coroutine_threadsafe(catalog_export(runtime, job), runtime.loop)
    assert await asyncio.wrap_future(again) == result
    assert (export_dir / name).read_bytes() == first
    assert listing(export_dir) == [name]


async def test_export_fails_when_its_directory_cannot_be_written(
    admin: Api, export_dir: Path, write_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = export_dir.parent / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(write_settings, "export_dir", blocker / "exports")
    job_id = await start(admin, EXPORT, "catalogExport", {"filter": None})
    job = await finished(admin, job_id)
    assert (job["status"], job["attempts"]) == ("FAILED", 1)
    assert "export directory" in job["error"]
    assert "not writable" in job["error"]
    assert job["result"] is None


async def test_export_refusals(admin: Api, editor: Api, anonymous: Api) -> None:
    assert (await editor.query(EXPORT)).codes == ["FORBIDDEN"]
    assert (await anonymous.query(EXPORT)).codes == ["UNAUTHENTICATED"]
    missing = {"categoryId": ids.encode("Category", 999_999)}
    payload = (await admin.query(EXPORT, {"filter": missing})).data["catalogExport"]
    assert payload["job"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["filter", "categoryId"], "NOT_FOUND")
    ]
    bad = await admin.query(EXPORT, {"filter": {"categoryId": "not-an-id"}})
    assert bad.codes == ["BAD_USER_INPUT"]


async def test_downloads_need_an_admin_and_stay_inside_the_export_dir(
    admin: Api, editor: Api, anonymous: Api, export_dir: Path
) -> None:
    url = (await export(admin, {"categoryId": LEAF}))["url"]
    client = admin.client
    nobody = await client.get(url)
    assert (nobody.status_code, nobody.headers["www-authenticate"][:6]) == (401, "Bearer")
    assert (await client.get(url, headers={"authorization": "Bearer nope"})).status_code == 401
    assert (await client.get(url, headers=editor.headers)).status_code == 403
    assert (await client.get(url, headers=anonymous.headers)).status_code == 401
    assert (await client.get(url, headers=admin.headers)).status_code == 200

    secret = export_dir.parent / "secret.csv"
    secret.write_text("secret")
    lookalike = "catalog-1-AAAAAAAAAAAAAAAAAAAAAAAA.csv"
    (export_dir.parent / lookalike).write_text("secret")
    (export_dir / "catalog-2-BBBBBBBBBBBBBBBBBBBBBBBB.csv").symlink_to(secret)
    (export_dir / f".{lookalike}.0123.part").write_text("secret")
    (export_dir / "notes.csv").write_text("secret")
    for path in (
        "/exports/..%2Fsecret.csv",
        f"/exports/..%2F{lookalike}",
        "/exports/%2E%2E%2F%2E%2E%2Fpyproject.toml",
        "/exports/%2Fetc%2Fpasswd",
        "/exports/..",
        "/exports/catalog-2-BBBBBBBBBBBBBBBBBBBBBBBB.csv",
        f"/exports/.{lookalike}.0123.part",
        "/exports/notes.csv",
        "/exports/catalog-3-CCCCCCCCCCCCCCCCCCCCCCCC.csv",
    ):
        response = await client.get(path, headers=admin.headers)
        assert response.status_code == 404, path
        assert b"secret" not in response.content


# --- productViewTrack and viewCount --------------------------------------------------------


async def view_count(editor: Api, product_id: str, expected: int) -> int:
    """Polls until the count reaches `expected` (flushes come every few seconds)."""
    deadline = time.monotonic() + 30
    seen = None
    while time.monotonic() < deadline:
        seen = (await editor.query(VIEWS, {"id": product_id})).data["product"]["viewCount"]
        if seen == expected:
            return int(seen)
        await asyncio.sleep(0.1)
    raise AssertionError(f"viewCount stayed at {seen}, not {expected}")


async def test_fifty_concurrent_views_are_fifty_with_a_handful_of_writes(
    anonymous: Api, editor: Api, write_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    product = await create(editor, status="ACTIVE")
    gateway_writes = WriteCounter(gateway_of(write_client).engine)
    worker_writes = WriteCounter(local_runtime(write_client).engine)
    async with engine.connect() as connection:
        outbox_before = await connection.scalar(select(func.count()).select_from(outbox))
    try:
        results = await asyncio.gather(
            *(anonymous.query(TRACK, {"id": product["id"]}) for _ in range(50))
        )
        assert [r.data["productViewTrack"] for r in results] == [
            {"recorded": True, "userErrors": []}
        ] * 50
        assert await view_count(editor, product["id"], 50) == 50
    finally:
        gateway_writes.close()
        worker_writes.close()
    inserted = [s for s in gateway_writes.statements if s.lstrip().upper().startswith("INSERT")]
    assert inserted == []  # no outbox row, no change row per view
    upserts = [s for s in worker_writes.statements if "product_view_counts" in s]
    assert 1 <= len(upserts) <= 3, upserts
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(outbox)) == outbox_before


async def test_view_count_is_for_staff_and_null_for_the_public(
    anonymous: Api, editor: Api, admin: Api
) -> None:
    product = await create(editor, status="ACTIVE")
    public = await anonymous.query(VIEWS, {"id": product["id"]})
    assert public.errors == []
    assert public.data["product"] == {"id": product["id"], "viewCount": None}
    for staff in (editor, admin):
        assert (await staff.query(VIEWS, {"id": product["id"]})).data["product"]["viewCount"] == 0


async def test_view_track_refusals(anonymous: Api, editor: Api) -> None:
    unknown = ids.encode("Product", 10**12)
    draft = await create(editor)
    for api, product_id in ((anonymous, unknown), (anonymous, draft["id"]), (editor, unknown)):
        payload = (await api.query(TRACK, {"id": product_id})).data["productViewTrack"]
        assert payload["recorded"] is False
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["productId"], "NOT_FOUND")
        ]
    seen = (await editor.query(TRACK, {"id": draft["id"]})).data["productViewTrack"]
    assert seen == {"recorded": True, "userErrors": []}
    for malformed in ("nope", ids.encode("Category", 1)):
        assert (await anonymous.query(TRACK, {"id": malformed})).codes == ["BAD_USER_INPUT"]


async def test_view_counts_of_a_page_load_in_one_statement(editor: Api) -> None:
    page = "{ products(first: 20) { edges { node { id %s } } } }"
    await editor.query(page % "")  # whatever a cache would keep is kept from here on
    without = await editor.query(page % "")
    counted = await editor.query(page % "viewCount")
    assert counted.sql == without.sql + 1
    assert all(isinstance(e["node"]["viewCount"], int) for e in counted.data["products"]["edges"])


@pytest_asyncio.fixture
async def views_redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(f"{SHARED_REDIS}/{VIEWS_REDIS_DB}", socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        await client.aclose()
        unavailable(f"Redis is not reachable at {SHARED_REDIS}: {error}")
    keys = [k async for k in client.scan_iter("gateway:views:*")]
    if keys:
        await client.delete(*keys)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def redis_runtime(
    write_settings: Settings, engine: AsyncEngine, views_redis: Redis
) -> Runtime:
    """A worker's runtime on the test's loop, sharing Redis the way Celery workers do."""
    loop = asyncio.get_running_loop()
    return Runtime(write_settings, loop, engine, session_factory(engine), views_redis)


async def test_with_redis_views_gather_in_one_hash_and_flush_in_one_statement(
    redis_runtime: Runtime, engine: AsyncEngine, views_redis: Redis
) -> None:
    scheduled: list[dict[str, Any]] = []

    def schedule(delay: float, task: str, args: dict[str, Any]) -> None:
        assert (delay, task) == (redis_runtime.settings.view_flush_seconds, "gateway.flush_views")
        scheduled.append(args)  # the test runs each flush itself, when it chooses

    redis_runtime.schedule = schedule
    sessions = session_factory(engine)
    async with sessions() as session:
        before = await view_counts_by_product_ids(session=session, product_ids=[1, 2])
    writes = WriteCounter(engine)
    try:
        await asyncio.gather(
            *(view_tasks.track_view(redis_runtime, {"product_id": 1 + n % 2}) for n in range(50))
        )
        assert len(scheduled) == 1  # one flush for the window, however many views
        await view_tasks.flush_views(redis_runtime, scheduled[0])
    finally:
        writes.close()
    assert len(writes.statements) == 1
    async with sessions() as session:
        after = await view_counts_by_product_ids(session=session, product_ids=[1, 2])
    assert after == {1: before.get(1, 0) + 25, 2: before.get(2, 0) + 25}
    assert [k async for k in views_redis.scan_iter("gateway:views:*")] == []

    await view_tasks.track_view(redis_runtime, {"product_id": 1})
    assert len(scheduled) == 2  # the flush opened the next window
    # A flush retried after it took its batch finds the batch where it was, and writes it once.
    await views_redis.rename(view_tasks.PENDING, view_tasks.FLUSHING + scheduled[1]["batch"])
    await view_tasks.flush_views(redis_runtime, scheduled[1])
    await view_tasks.flush_views(redis_runtime, scheduled[1])
    async with sessions() as session:
        final = await view_counts_by_product_ids(session=session, product_ids=[1])
    assert final == {1: before.get(1, 0) + 26}


async def test_views_of_a_deleted_product_are_not_stored(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        assert await add_views(session=session, counts={10**12: 5}) == 1
    async with sessions() as session:
        assert await view_counts_by_product_ids(session=session, product_ids=[10**12]) == {}


# --- productReport -------------------------------------------------------------------------


async def test_report_holds_views_price_history_and_stock(editor: Api) -> None:
    product = await create(editor)
    slug = product["slug"]
    first = await variant(editor, product["id"], sku=f"{slug}-a", price="10.00", quantity=4)
    second = await variant(editor, product["id"], sku=f"{slug}-b", price="20.00", quantity=0)
    for made, changes in (
        (first, {"price": "12.50"}),
        (second, {"name": "Renamed"}),
        (second, {"price": "18.00", "compareAtPrice": "25.00"}),
    ):
        payload = (await editor.query(VARIANT_UPDATE, {"id": made["id"], "input": changes})).data
        assert payload["variantUpdate"]["userErrors"] == []
    for _ in range(3):
        assert (await editor.query(TRACK, {"id": product["id"]})).data["productViewTrack"][
            "recorded"
        ]
    await view_count(editor, product["id"], 3)

    job_id = await start(editor, REPORT, "productReport", {"id": product["id"]})
    job = await finished(editor, job_id)
    assert job["status"] == "SUCCEEDED", job
    report = job["result"]
    assert (report["productId"], report["views"]) == (product["id"], 3)
    history = report["priceHistory"]
    assert [(h["variantId"], h["price"]) for h in history] == [
        (first["id"], "10.00"),
        (second["id"], "20.00"),
        (first["id"], "12.50"),
        (second["id"], "18.00"),
    ]
    sequences = [h["sequence"] for h in history]
    assert sequences == sorted(set(sequences))
    assert len(sequences) == 4
    assert all(h["occurredAt"] for h in history)
    assert report["stock"] == [
        {"variantId": first["id"], "sku": f"{slug}-a", "quantity": 4},
        {"variantId": second["id"], "sku": f"{slug}-b", "quantity": 0},
    ]


async def test_report_refusals(editor: Api, anonymous: Api) -> None:
    product = await create(editor)
    assert (await anonymous.query(REPORT, {"id": product["id"]})).codes == ["UNAUTHENTICATED"]
    unknown = ids.encode("Product", 10**12)
    payload = (await editor.query(REPORT, {"id": unknown})).data["productReport"]
    assert payload["job"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["productId"], "NOT_FOUND")
    ]
    assert (await editor.query(REPORT, {"id": "nope"})).codes == ["BAD_USER_INPUT"]


async def test_a_report_on_a_product_deleted_before_it_ran_fails_clearly(
    editor: Api, write_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    product = await create(editor)
    key = ids.decode_as(product["id"], "Product")
    async with write_transaction(session_factory(engine), "test") as tx:
        job = await start_product_report(tx, key)
        await delete_product(tx, key, None)  # committed with the job: gone before it runs
    gateway_of(write_client).relay.wake()
    done = await finished(editor, ids.encode("Job", job.id))
    assert (done["status"], done["attempts"]) == ("FAILED", 1)
    assert done["error"] == (
        f"PermanentError: Product {product['id']} no longer exists: "
        "it was deleted before its report ran."
    )


def test_report_ids_are_the_api_ids() -> None:
    for type_name, key in (("Product", 1), ("ProductVariant", 2**63 - 1)):
        assert global_id(type_name, key) == ids.encode(type_name, key)


def test_only_export_names_directly_inside_the_directory_resolve(tmp_path: Path) -> None:
    name = "catalog-7-" + "x" * 24 + ".csv"
    (tmp_path / name).write_text("ok")
    assert export_path(tmp_path, name) == (tmp_path / name).resolve()
    for refused in ("..", f"../{name}", f"./{name}", f"/{name}", f"{name}/..", "catalog-7-x.csv"):
        assert export_path(tmp_path, refused) is None, refused
