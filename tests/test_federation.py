"""The catalog as one subgraph of a federated graph. Its `_service { sdl }` composes with a
reviews subgraph through Apollo's composition library, and Apollo Gateway (both from the npm
registry, run with the machine's Node.js; see bench/federated) answers operations that cross
both subgraphs, with the caller's token reaching `_entities`."""

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import strawberry
import uvicorn

from bench.federated.npm import NodeUnavailable, node_modules
from bench.federated.router import Composition, Subgraph, compose, router
from db.seed import build_catalog
from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import ROOT, free_port
from tests.conftest import token, unavailable
from tests.reviews_subgraph import Review, ReviewsApp, schema
from tests.servers import embedded_gateway
from tests.support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVICE = "{ _service { sdl } }"
# The embedded gateway's catalog (tests.servers); its last product is a draft.
PRODUCTS = 30
DRAFT_ID = 30


@pytest.fixture(scope="module")
def npm() -> Path:
    try:
        return node_modules()
    except NodeUnavailable as error:
        unavailable(f"federation tests need Node.js and the npm registry: {error}")
        raise


def reviews_sdl() -> str:
    return schema().as_str()


def composed(products_sdl: str, products_url: str, reviews_url: str) -> Composition:
    return compose(
        [
            Subgraph("products", products_url, products_sdl),
            Subgraph("reviews", reviews_url, reviews_sdl()),
        ]
    )


async def test_export_schema_federation_prints_what_service_sdl_answers(api: Api) -> None:
    command = [sys.executable, "-m", "graph.cli", "export-schema", "--federation"]
    exported = await asyncio.to_thread(
        subprocess.run, command, check=True, capture_output=True, text=True, cwd=ROOT
    )
    printed = exported.stdout
    served = (await api.query(SERVICE)).data["_service"]["sdl"]
    assert printed == served + "\n"
    assert '@link(url: "https://specs.apollo.dev/federation/v2.11"' in served
    entities = [("Product", "id slug"), ("ProductVariant", "id sku"), ("Category", "id slug")]
    for entity, keys in entities:
        applied = " ".join(f'@key(fields: "{key}")' for key in keys.split())
        assert f"type {entity} implements Node {applied} {{" in served
    assert "type Money @shareable {" in served
    assert "type PageInfo @shareable {" in served


async def test_the_subgraph_composes_with_a_reviews_subgraph(npm: Path, api: Api) -> None:
    served = (await api.query(SERVICE)).data["_service"]["sdl"]
    composition = composed(served, "http://products/graphql", "http://reviews/graphql")
    assert composition.errors == []
    supergraph = composition.supergraph
    assert supergraph is not None
    assert '@join__type(graph: PRODUCTS, key: "id")' in supergraph
    assert '@join__type(graph: PRODUCTS, key: "slug")' in supergraph
    assert '@join__type(graph: REVIEWS, key: "id")' in supergraph
    assert "reviews: [Review!]! @join__field(graph: REVIEWS)" in supergraph
    # Demand control's directives reach the supergraph, for a router to price operations with.
    assert "@cost(weight: 10)" in supergraph
    assert '@listSize(assumedSize: 20, slicingArguments: ["first", "last"]' in supergraph


def _reviews() -> list[Review]:
    catalog = build_catalog(PRODUCTS)
    assert catalog.products[DRAFT_ID - 1]["status"].value == "DRAFT"
    active = sorted((p["name"], p["id"]) for p in catalog.products if p["status"].value == "ACTIVE")
    first = [product_id for _, product_id in active[:3]]
    # Products on the first page by name, one of them twice, and the draft.
    reviewed = [first[0], first[1], first[1], first[2], DRAFT_ID]
    return [
        Review(
            id=strawberry.ID(ids.encode("Review", n)),
            rating=1 + n % 5,
            product_id=strawberry.ID(ids.encode("Product", product_id)),
        )
        for n, product_id in enumerate(reviewed, start=1)
    ]


@dataclass
class Federated:
    gateway: httpx.AsyncClient
    products: httpx.AsyncClient
    reviews: list[Review]

    async def data(self, document: str, headers: dict[str, str] | None = None) -> Any:
        response = await self.gateway.post("/", json={"query": document}, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def federated(
    npm: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Federated]:
    """`gateway serve`, the reviews subgraph in this process, and Apollo Gateway over both."""
    directory = tmp_path_factory.mktemp("federated")
    reviews = _reviews()
    config = uvicorn.Config(
        ReviewsApp(reviews),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        ws="none",
        log_config=None,  # leave this process's logging as the other tests expect it
    )
    reviews_server = uvicorn.Server(config)
    serving = asyncio.create_task(reviews_server.serve())
    try:
        while not reviews_server.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
            await asyncio.sleep(0.02)
        async with (
            embedded_gateway(directory) as products,
            httpx.AsyncClient(base_url=products.url) as product_client,
        ):
            sdl = await _service_sdl(product_client)
            reviews_url = f"http://127.0.0.1:{config.port}/"
            composition = composed(sdl, f"{products.url}/graphql", reviews_url)
            assert composition.supergraph is not None, composition.errors
            with router(composition.supergraph, directory) as running:
                async with httpx.AsyncClient(base_url=running.url, timeout=30) as gateway:
                    yield Federated(gateway, product_client, reviews)
    finally:
        reviews_server.should_exit = True
        await serving


async def _service_sdl(client: httpx.AsyncClient) -> str:
    response = await client.post("/graphql", json={"query": SERVICE})
    return str(response.json()["data"]["_service"]["sdl"])


async def test_products_get_their_reviews_from_the_other_subgraph(federated: Federated) -> None:
    data = await federated.data(
        "{ products(first: 5) { edges { node { id name reviews { rating } } } } }"
    )
    nodes = [edge["node"] for edge in data["products"]["edges"]]
    direct = await federated.products.post(
        "/graphql", json={"query": "{ products(first: 5) { edges { node { id name } } } }"}
    )
    assert [{"id": n["id"], "name": n["name"]} for n in nodes] == [
        edge["node"] for edge in direct.json()["data"]["products"]["edges"]
    ]
    for node in nodes:
        wanted = [r.rating for r in federated.reviews if r.product_id == node["id"]]
        assert [r["rating"] for r in node["reviews"]] == wanted
    assert any(node["reviews"] for node in nodes)


async def test_reviews_get_their_products_through_entities(federated: Federated) -> None:
    data = await federated.data(
        "{ reviews { rating product { id name priceRange { min { amount } } } } }"
    )
    catalog = build_catalog(PRODUCTS)
    for review, given in zip(federated.reviews, data["reviews"], strict=True):
        assert given["rating"] == review.rating
        if review.product_id == ids.encode("Product", DRAFT_ID):
            assert given["product"] is None  # a draft, and the caller is anonymous
            continue
        product = catalog.products[ids.decode_as(review.product_id, "Product") - 1]
        assert given["product"]["id"] == review.product_id
        assert given["product"]["name"] == product["name"]
        assert given["product"]["priceRange"]["min"]["amount"]


async def test_an_editor_token_sent_to_the_router_reaches_entities(federated: Federated) -> None:
    editor = {"authorization": f"Bearer {token(Settings(), Role.EDITOR)}"}
    document = "{ reviews { product { name status } } }"
    anonymous = await federated.data(document)
    staff = await federated.data(document, editor)
    assert anonymous["reviews"][-1]["product"] is None
    draft = build_catalog(PRODUCTS).products[DRAFT_ID - 1]
    assert staff["reviews"][-1]["product"] == {"name": draft["name"], "status": "DRAFT"}
