"""Whole responses are served again without execution or SQL, only to viewers of the scope they
were read for, and every write drops the responses it changes: at once on the instance that
wrote, and on every other instance as the event stream brings the change."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.settings import Settings
from graph.state import GatewayState
from graph.viewer import Role
from tests.celery_support import command_calls, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import LATEST_CHANGE, Api, workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
RESPONSES_DB = 9
PRICE = """mutation($id: ID!, $amount: Decimal!) {
  variantUpdate(id: $id, input: {price: $amount}) { userErrors { code } } }"""
FIRST_VARIANT = """query($slug: String!) { product(slug: $slug) { variants { id } } }"""


@pytest.fixture(scope="module")
def responses_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_responses")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_settings(responses_database: str) -> Settings:
    base = await seeded(responses_database, 300)
    return base.model_copy(update={"redis_url": shared_redis(RESPONSES_DB)})


def state_of(client: httpx.AsyncClient) -> GatewayState:
    state: GatewayState = client._transport.app.state.gateway  # type: ignore[attr-defined]
    return state


async def first_slug(api: Api) -> str:
    data = (await api.query("{ products(first: 1) { edges { node { slug } } } }")).data
    return str(data["products"]["edges"][0]["node"]["slug"])


async def test_a_repeated_query_is_served_without_execution_or_sql(settings: Settings) -> None:
    async with serving(settings.model_copy(update={"cache_enabled": True})) as client:
        api = Api(client)
        slug = await first_slug(api)
        first = await api.query(workload("W1"), {"slug": slug})
        assert first.sql > 0
        planned = state_of(client).executor.counts["planned"]
        again = await api.query(workload("W1"), {"slug": slug})
        assert again.data == first.data
        assert again.sql == 0
        assert state_of(client).executor.counts["planned"] == planned  # nothing executed
        assert again.body["extensions"]["cost"]["requested"] == 114
        responses = state_of(client).responses
        assert responses is not None
        assert responses.hits >= 1


async def test_scopes_never_share_a_response(settings: Settings) -> None:
    listing = """{ products(first: 100, filter: {status: [DRAFT, ACTIVE]}) {
      edges { node { status } } } }"""

    async def statuses(api: Api) -> set[str]:
        edges = (await api.query(listing)).data["products"]["edges"]
        return {edge["node"]["status"] for edge in edges}

    async with serving(settings) as client:
        editor, anonymous = Api(client, token(settings, Role.EDITOR)), Api(client)
        for _ in range(2):
            assert "DRAFT" in await statuses(editor)
            assert await statuses(anonymous) == {"ACTIVE"}


async def test_errors_and_uncovered_reads_are_not_kept(settings: Settings) -> None:
    async with serving(settings) as client:
        api = Api(client)
        bad = '{ product(id: "bm9wZQ==") { id } }'
        for _ in range(2):
            assert (await api.query(bad)).codes == ["BAD_USER_INPUT"]
        editor = Api(client, token(settings, Role.EDITOR))
        views = "{ products(first: 1) { edges { node { viewCount } } } }"
        await editor.query(views)
        assert (await editor.query(views)).sql > 0  # view counts carry no generation
        responses = state_of(client).responses
        assert responses is not None
        assert responses.stats()["entries"] == 0


async def price_of(api: Api, variant: str) -> Decimal:
    query = "query($id: ID!) { node(id: $id) { ... on ProductVariant { price { amount } } } }"
    return Decimal((await api.query(query, {"id": variant})).data["node"]["price"]["amount"])


async def wait_for_change(client: httpx.AsyncClient, sequence: int) -> None:
    """Until this instance's event hub has read the change (the stream's delivery is not what
    the test is about; the drop that follows it is)."""
    deadline = time.monotonic() + 10
    while state_of(client).events.position < sequence:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the change never reached this instance"
        await asyncio.sleep(0.01)


async def test_a_write_drops_the_responses_that_read_it_on_every_instance(
    shared_settings: Settings,
) -> None:
    """W1, W2, W3 and P3 cached on two instances; a variant of a product all but P3 show gets
    the lowest price in the catalog through a third; the next read of each on each instance is
    what an uncached gateway answers."""
    uncached = shared_settings.model_copy(
        update={"response_cache_enabled": False, "cache_enabled": False}
    )
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(serving(shared_settings)) for _ in range(3)]
        truth = Api(await stack.enter_async_context(serving(uncached)))
        readers = [Api(c) for c in clients[:2]]
        writer = Api(clients[2], token(shared_settings, Role.EDITOR))
        tree = (await truth.query(workload("W3"))).data["categories"]["edges"]
        root, product = tree[0]["node"], tree[0]["node"]["products"]["edges"][0]["node"]
        variants = (await truth.query(FIRST_VARIANT, {"slug": product["slug"]})).data
        variant = variants["product"]["variants"][0]["id"]
        menu = "{ categories(first: 50) { pageInfo { endCursor } } }"
        after = (await truth.query(menu)).data["categories"]["pageInfo"]["endCursor"]
        documents: list[tuple[str, dict[str, Any]]] = [
            (workload("W1"), {"slug": product["slug"]}),
            (workload("W2"), {"slug": root["slug"]}),
            (workload("W3"), {}),
            (workload("P3"), {"after": after}),
        ]
        for api in readers:
            for document, variables in documents:
                await api.query(document, variables)
                assert (await api.query(document, variables)).sql == 0  # now cached
        written = await writer.query(PRICE, {"id": variant, "amount": "0.01"})
        assert written.data["variantUpdate"]["userErrors"] == []
        admin = Api(truth.client, token(shared_settings, Role.ADMIN))
        log = (await admin.query(LATEST_CHANGE)).data["changes"]["edges"]
        newest = int(log[0]["node"]["sequence"])
        for client in clients[:2]:
            await wait_for_change(client, newest)
        executed = [state_of(c).executor.counts["planned"] for c in clients[:2]]
        for document, variables in documents:
            expected = (await truth.query(document, variables)).data
            for api in readers:
                assert (await api.query(document, variables)).data == expected, document[:40]
        counts = [state_of(c).executor.counts["planned"] for c in clients[:2]]
        again = [after - before for after, before in zip(counts, executed, strict=True)]
        # W1, W2 and W3 show the product, so each reader ran them again; P3 was still cached.
        assert again == [3, 3]


async def watching(client: httpx.AsyncClient) -> None:
    """Until Redis pushes this instance the generation bumps (the watch connects in the
    background at start-up)."""
    watch = state_of(client).responses.watch  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while not (watch is not None and watch.vouches()):
        assert time.monotonic() < deadline, "the generation watch never connected"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("watched", [False, True], ids=["checked in Redis", "pushed by Redis"])
async def test_hits_on_one_instance_need_at_most_one_mget_and_see_writes_at_once(
    shared_settings: Settings, watched: bool
) -> None:
    """With instances sharing Redis, a hit is served as it is while Redis pushes this instance
    every generation bump (no Redis command at all), else checked against the generations in
    Redis (the hits of one moment in one MGET); either way a write through another instance is
    seen by the very next read, without waiting for the event stream."""
    assert shared_settings.redis_url is not None
    # A lease longer than the cache's 50 ms: a busy test loop must not make this read MGETs.
    settings = shared_settings.model_copy(
        update={"response_cache_watch": watched, "cache_timeout_seconds": 0.5}
    )
    async with AsyncExitStack() as stack:
        reader, other = [await stack.enter_async_context(serving(settings)) for _ in "ab"]
        if watched:
            await watching(reader)
        api = Api(reader)
        writer = Api(other, token(settings, Role.EDITOR))
        slug = await first_slug(api)
        variant = (await api.query(FIRST_VARIANT, {"slug": slug})).data["product"]["variants"]
        await api.query(workload("W1"), {"slug": slug})
        before = command_calls(shared_settings.redis_url, "mget")
        hits = await asyncio.gather(*(api.query(workload("W1"), {"slug": slug}) for _ in range(16)))
        assert [hit.sql for hit in hits] == [0] * 16
        mgets = command_calls(shared_settings.redis_url, "mget") - before
        assert mgets == 0 if watched else mgets <= 2  # 16 without coalescing
        # A price of each run's own: writing the price a variant has changes nothing.
        amount = "0.04" if watched else "0.02"
        written = await writer.query(PRICE, {"id": variant[0]["id"], "amount": amount})
        assert written.data["variantUpdate"]["userErrors"] == []
        after = await api.query(workload("W1"), {"slug": slug})
        assert after.sql > 0
        prices = after.data["product"]["variants"]
        assert prices[0]["price"]["amount"] == amount


CATEGORY_BY_SLUG = "query($slug: String) { category(slug: $slug) { id name } }"
PRODUCT_CATEGORY = "query($slug: String!) { product(slug: $slug) { category { name } } }"
VARIANT_BY_SKU = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on ProductVariant { price { amount } } } }"""
RENAME = """mutation($id: ID!, $name: String!) { categoryUpdate(id: $id, input: {name: $name}) {
  userErrors { code } } }"""
FIRST_PRODUCT = """{ products(first: 1) { edges { node { slug category { id slug name }
  variants { id sku price { amount } } } } } }"""


@pytest.mark.parametrize("rows_cached", [False, True], ids=["no row cache", "row cache"])
async def test_rows_another_statement_brought_are_read_anew_after_a_write(
    shared_settings: Settings, rows_cached: bool
) -> None:
    """Rows one statement brings for another loader (a category looked up by slug, a variant by
    SKU) are tagged like the loader's own; without the row cache they once were not, and a
    renamed category or a new price stayed old in cached responses."""
    settings = shared_settings.model_copy(update={"redis_url": None, "cache_enabled": rows_cached})
    async with serving(settings) as client:
        api = Api(client)
        admin = Api(client, token(settings, Role.ADMIN))
        product = (await api.query(FIRST_PRODUCT)).data["products"]["edges"][0]["node"]
        category, variant = product["category"], product["variants"][0]
        sku = {"r": [{"__typename": "ProductVariant", "sku": variant["sku"]}]}
        reads = [
            (CATEGORY_BY_SLUG, {"slug": category["slug"]}),
            (PRODUCT_CATEGORY, {"slug": product["slug"]}),
            (VARIANT_BY_SKU, sku),
        ]
        for document, variables in reads:
            await api.query(document, variables)
            assert (await api.query(document, variables)).sql == 0  # cached
        try:
            renamed = await admin.query(RENAME, {"id": category["id"], "name": "Renamed Shelf"})
            assert renamed.data["categoryUpdate"]["userErrors"] == []
            priced = await admin.query(PRICE, {"id": variant["id"], "amount": "0.03"})
            assert priced.data["variantUpdate"]["userErrors"] == []
            by_slug = (await api.query(*reads[0])).data["category"]["name"]
            of_product = (await api.query(*reads[1])).data["product"]["category"]["name"]
            price = (await api.query(*reads[2])).data["_entities"][0]["price"]["amount"]
            assert (by_slug, of_product, price) == ("Renamed Shelf", "Renamed Shelf", "0.03")
        finally:
            await admin.query(RENAME, {"id": category["id"], "name": category["name"]})
            await admin.query(PRICE, {"id": variant["id"], "amount": variant["price"]["amount"]})


BREADCRUMBS = """query($slug: String!) { product(slug: $slug) { category {
  name parent { name } ancestors { id name } } } }"""


@pytest.mark.parametrize("mode", ["no row cache", "row cache", "shared Redis"])
async def test_renaming_an_ancestor_drops_the_responses_that_show_it(
    shared_settings: Settings, mode: str
) -> None:
    """A product's breadcrumbs come from the statement that loads its category with all its
    ancestors; a rename of the root (through another instance, when they share Redis) is in
    the next read, whatever the caches."""
    settings = {
        "no row cache": shared_settings.model_copy(
            update={"redis_url": None, "cache_enabled": False}
        ),
        "row cache": shared_settings.model_copy(update={"redis_url": None}),
        "shared Redis": shared_settings,
    }[mode]
    async with AsyncExitStack() as stack:
        reader = Api(await stack.enter_async_context(serving(settings)))
        other = (
            await stack.enter_async_context(serving(settings)) if mode == "shared Redis" else None
        )
        admin = Api(other or reader.client, token(settings, Role.ADMIN))
        slug = await first_slug(reader)
        shown = (await reader.query(BREADCRUMBS, {"slug": slug})).data["product"]["category"]
        assert (await reader.query(BREADCRUMBS, {"slug": slug})).sql == 0  # kept
        root = shown["ancestors"][0]
        try:
            renamed = await admin.query(RENAME, {"id": root["id"], "name": "Renamed Root"})
            assert renamed.data["categoryUpdate"]["userErrors"] == []
            after = (await reader.query(BREADCRUMBS, {"slug": slug})).data["product"]["category"]
            assert after["ancestors"][0]["name"] == "Renamed Root"
        finally:
            await admin.query(RENAME, {"id": root["id"], "name": root["name"]})


CREATE_CATEGORY = """mutation($slug: String!) {
  categoryCreate(input: {slug: $slug, name: "Probe"}) { category { id } userErrors { code } } }"""
DELETE_CATEGORY = """mutation($id: ID!) { categoryDelete(id: $id) { userErrors { code } } }"""
TWO_SLUGS = """query($known: String, $unknown: String) { known: category(slug: $known) { id }
  unknown: category(slug: $unknown) { id } }"""


@pytest.mark.parametrize("rows_cached", [False, True], ids=["no row cache", "row cache"])
async def test_a_slug_no_category_had_is_found_once_a_category_takes_it(
    shared_settings: Settings, rows_cached: bool
) -> None:
    """Looked up beside a category whose ancestors the same statement brings: the unknown
    slug's null still waits for any new category (a count of the rows found hid it)."""
    settings = shared_settings.model_copy(update={"redis_url": None, "cache_enabled": rows_cached})
    async with serving(settings) as client:
        api = Api(client)
        admin = Api(client, token(settings, Role.ADMIN))
        known = (await api.query(FIRST_PRODUCT)).data["products"]["edges"][0]["node"]
        variables = {
            "known": known["category"]["slug"],
            "unknown": "probe-cached" if rows_cached else "probe-uncached",
        }
        assert (await api.query(TWO_SLUGS, variables)).data["unknown"] is None
        assert (await api.query(TWO_SLUGS, variables)).sql == 0  # cached
        made = await admin.query(CREATE_CATEGORY, {"slug": variables["unknown"]})
        assert made.data["categoryCreate"]["userErrors"] == []
        created = made.data["categoryCreate"]["category"]["id"]
        try:
            assert (await api.query(TWO_SLUGS, variables)).data["unknown"] == {"id": created}
        finally:
            await admin.query(DELETE_CATEGORY, {"id": created})


CREATE_PRODUCT = """mutation($slug: String!, $category: ID!) {
  productCreate(input: {slug: $slug, name: "Probe", categoryId: $category}) {
    product { id } userErrors { code } } }"""
UPDATE_PRODUCT = """mutation($id: ID!, $input: ProductUpdateInput!) {
  productUpdate(id: $id, input: $input) { userErrors { code } } }"""
DELETE_PRODUCT = """mutation($id: ID!) { productDelete(id: $id) { userErrors { code } } }"""


@pytest.mark.parametrize("rows_cached", [False, True], ids=["no row cache", "row cache"])
async def test_a_slug_a_product_gave_up_is_found_once_another_takes_it(
    shared_settings: Settings, rows_cached: bool
) -> None:
    """The row cache still maps the old slug to the renamed product; the null it now answers
    must wait for any product that takes the slug (the row found under its new slug once hid
    it, and the null stayed cached for good)."""
    settings = shared_settings.model_copy(update={"redis_url": None, "cache_enabled": rows_cached})
    async with serving(settings) as client:
        api = Api(client)
        admin = Api(client, token(settings, Role.ADMIN))
        known = (await api.query(FIRST_PRODUCT)).data["products"]["edges"][0]["node"]
        old, new = f"probe-old-{int(rows_cached)}", f"probe-new-{int(rows_cached)}"
        card = (workload("P1"), {"slug": old})
        made: list[str] = []

        async def publish(slug: str) -> str:
            created = await admin.query(
                CREATE_PRODUCT, {"slug": slug, "category": known["category"]["id"]}
            )
            assert created.data["productCreate"]["userErrors"] == []
            made.append(created.data["productCreate"]["product"]["id"])
            shown = await admin.query(
                UPDATE_PRODUCT, {"id": made[-1], "input": {"status": "ACTIVE"}}
            )
            assert shown.data["productUpdate"]["userErrors"] == []
            return made[-1]

        try:
            first = await publish(old)
            assert (await api.query(*card)).data["product"]["id"] == first
            moved = await admin.query(UPDATE_PRODUCT, {"id": first, "input": {"slug": new}})
            assert moved.data["productUpdate"]["userErrors"] == []
            for _ in range(100):  # until the change stream has dropped what the write changed
                gone = await api.query(*card)
                assert gone.data["product"] is None
                if gone.sql == 0:
                    break
                await asyncio.sleep(0.02)
            assert gone.sql == 0  # the null is kept
            second = await publish(old)
            assert (await api.query(*card)).data["product"]["id"] == second
        finally:
            for product in made:
                await admin.query(DELETE_PRODUCT, {"id": product})


async def test_a_product_page_of_a_product_without_variants(shared_settings: Settings) -> None:
    """The page's statement brings variants as a JSON aggregate, which is null for none."""
    settings = shared_settings.model_copy(update={"redis_url": None})
    async with serving(settings) as client:
        admin = Api(client, token(settings, Role.ADMIN))
        async with probe_product(admin, "probe-bare") as (_, category):
            page = await admin.query(workload("W1"), {"slug": "probe-bare"})
            assert page.data["product"]["variants"] == []
            assert page.data["product"]["category"]["slug"] == category


@asynccontextmanager
async def probe_product(admin: Api, slug: str) -> AsyncIterator[tuple[str, str]]:
    """A product made for one test in the first product's category, deleted after it: its id
    and its category's slug."""
    known = (await admin.query(FIRST_PRODUCT)).data["products"]["edges"][0]["node"]
    created = await admin.query(CREATE_PRODUCT, {"slug": slug, "category": known["category"]["id"]})
    product = created.data["productCreate"]["product"]["id"]
    try:
        yield product, known["category"]["slug"]
    finally:
        await admin.query(DELETE_PRODUCT, {"id": product})


IMAGE_ADD = """mutation($product: ID!, $input: ImageInput!) { productImageAdd(productId: $product,
  input: $input) { image { id } userErrors { code } } }"""
IMAGE_REMOVE = """mutation($id: ID!) { productImageRemove(imageId: $id) { userErrors { code } } }"""
PAGE_IDS = """query($slug: String!) { product(slug: $slug) { id variants { id price { amount } } }
  }"""


@pytest.mark.parametrize("mode", ["no row cache", "row cache", "shared Redis"])
async def test_product_pages_read_while_their_images_and_prices_change_end_up_current(
    shared_settings: Settings, mode: str
) -> None:
    """W1 brings the product's variants and images in its one statement (on PostgreSQL) and
    tags the response with them. Read 40 times while its images are added and its price
    changes, a page never settles on what it read before a write: once the writes are done,
    the cached page is what an uncached gateway answers, and it is cached again."""
    settings = shared_settings.model_copy(
        update={
            "redis_url": shared_settings.redis_url if mode == "shared Redis" else None,
            "cache_enabled": mode != "no row cache",
        }
    )
    uncached = shared_settings.model_copy(
        update={"redis_url": None, "response_cache_enabled": False, "cache_enabled": False}
    )
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(serving(settings))
        api, admin = Api(client), Api(client, token(settings, Role.ADMIN))
        truth = Api(await stack.enter_async_context(serving(uncached)))
        slug = await first_slug(truth)
        page = (await truth.query(PAGE_IDS, {"slug": slug})).data["product"]
        variant, price = page["variants"][0]["id"], page["variants"][0]["price"]["amount"]
        await api.query(workload("W1"), {"slug": slug})  # cached before the writes
        added: list[str] = []

        async def write() -> None:
            for step in range(3):
                image = {"url": f"/race/{mode}/{step}.jpg", "width": 10, "height": 10}
                made = await admin.query(IMAGE_ADD, {"product": page["id"], "input": image})
                assert made.data["productImageAdd"]["userErrors"] == []
                added.append(made.data["productImageAdd"]["image"]["id"])
                priced = await admin.query(PRICE, {"id": variant, "amount": f"{step + 1}.25"})
                assert priced.data["variantUpdate"]["userErrors"] == []
                # A write drops what it changed before it answers: the next read sees it.
                seen = (await api.query(workload("W1"), {"slug": slug})).data["product"]
                assert seen["variants"][0]["price"]["amount"] == f"{step + 1}.25"
                assert seen["images"][-1]["url"] == image["url"]

        async def read() -> None:
            for _ in range(40):
                await api.query(workload("W1"), {"slug": slug})

        try:
            await asyncio.gather(write(), read(), read())
            expected = (await truth.query(workload("W1"), {"slug": slug})).data
            assert [i["url"] for i in expected["product"]["images"]][-3:] == [
                f"/race/{mode}/{step}.jpg" for step in range(3)
            ]
            assert expected["product"]["variants"][0]["price"]["amount"] == "3.25"
            settled = await api.query(workload("W1"), {"slug": slug})
            assert settled.data == expected
            again = await api.query(workload("W1"), {"slug": slug})
            assert (again.data, again.sql) == (expected, 0)
        finally:
            for image in added:
                await admin.query(IMAGE_REMOVE, {"id": image})
            await admin.query(PRICE, {"id": variant, "amount": price})


async def test_a_product_page_shows_a_full_gallery_from_its_one_statement(
    shared_settings: Settings,
) -> None:
    """A product with as many images as it may have (20; a 21st is refused): the page's
    statement brings them all in position order, and a field asking fewer shows the first of
    them; still one statement."""
    settings = shared_settings.model_copy(update={"redis_url": None, "cache_enabled": False})
    async with serving(settings) as client:
        admin = Api(client, token(settings, Role.ADMIN))
        async with probe_product(admin, "probe-gallery") as (product, _):
            for n in range(21):
                image = {"url": f"/gallery/{n}.jpg", "width": 1, "height": 1, "position": 20 - n}
                made = await admin.query(IMAGE_ADD, {"product": product, "input": image})
                refused = [{"code": "TOO_LARGE"}] if n == 20 else []
                assert made.data["productImageAdd"]["userErrors"] == refused
            page = await admin.query(
                "query($slug: String!) { product(slug: $slug) { category { slug } "
                "images { url } few: images(first: 2) { url } } }",
                {"slug": "probe-gallery"},
            )
            shown = [i["url"] for i in page.data["product"]["images"]]
            # Each was put before the last one, so the newest leads.
            assert shown == [f"/gallery/{n}.jpg" for n in range(19, -1, -1)]
            assert [i["url"] for i in page.data["product"]["few"]] == shown[:2]
            assert page.sql == 1
