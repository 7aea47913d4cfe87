"""Federation's `_entities`, as a router calls it: representations by either key of Product,
ProductVariant and Category resolve through the loaders (one statement per (type, key) pair
used), with node's visibility; a malformed representation is its own BAD_USER_INPUT; and the
representations count toward the operation's cost and limits."""

import random
from typing import Any

import httpx
import pytest

from graph import ids
from graph.entities import MAX_REPRESENTATIONS
from graph.settings import Settings
from graph.viewer import Role
from tests.conftest import token
from tests.support import Api, Oracle
from tests.test_mutations_products import UPDATE, create
from tests.test_mutations_variants import VARIANT_UPDATE, variant

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename
  ... on Product { id slug name status }
  ... on ProductVariant { id sku product { slug } }
  ... on Category { id slug name }
} }"""
PAIRS = [
    ("Product", "id"),
    ("Product", "slug"),
    ("ProductVariant", "id"),
    ("ProductVariant", "sku"),
    ("Category", "id"),
    ("Category", "slug"),
]


def _rows(oracle: Oracle, type_name: str) -> list[dict[str, Any]]:
    if type_name == "Product":
        return oracle.catalog.products
    if type_name == "ProductVariant":
        return oracle.catalog.variants
    return oracle.catalog.categories


def representation(type_name: str, key: str, row: dict[str, Any]) -> dict[str, Any]:
    value = ids.encode(type_name, row["id"]) if key == "id" else row[key]
    return {"__typename": type_name, key: value}


def _draft_product(oracle: Oracle, row: dict[str, Any], type_name: str) -> bool:
    product_id = row["id"] if type_name == "Product" else row.get("product_id")
    return product_id is not None and not oracle.public(oracle.products[product_id])


def mixed(oracle: Oracle, per_pair: int, seed: int) -> list[tuple[dict[str, Any], Any]]:
    """`per_pair` representations of each (type, key), shuffled, with the row each names
    (drafts and their variants among them)."""
    rng = random.Random(seed)
    chosen = []
    for type_name, key in PAIRS:
        rows = _rows(oracle, type_name)
        drafts = [r for r in rows if _draft_product(oracle, r, type_name)][:5]
        picks = drafts + rng.sample(rows, per_pair - len(drafts))
        chosen += [(representation(type_name, key, row), (type_name, row)) for row in picks]
    rng.shuffle(chosen)
    return chosen


def expected(oracle: Oracle, named: tuple[str, dict[str, Any]], staff: bool) -> Any:
    type_name, row = named
    if not staff and _draft_product(oracle, row, type_name):
        return None
    found: dict[str, Any] = {"__typename": type_name, "id": ids.encode(type_name, row["id"])}
    if type_name == "Product":
        return found | {"slug": row["slug"], "name": row["name"], "status": row["status"].value}
    if type_name == "ProductVariant":
        product = oracle.products[row["product_id"]]
        return found | {"sku": row["sku"], "product": {"slug": product["slug"]}}
    return found | {"slug": row["slug"], "name": row["name"]}


@pytest.mark.parametrize("staff", [False, True], ids=["anonymous", "editor"])
async def test_300_mixed_representations_cost_one_statement_per_type_and_key(
    client: httpx.AsyncClient, settings: Settings, oracle: Oracle, staff: bool
) -> None:
    api = Api(client, token(settings, Role.EDITOR) if staff else None)
    chosen = mixed(oracle, 50, seed=18 + staff)
    result = await api.query(ENTITIES, {"representations": [r for r, _ in chosen]})
    assert result.data["_entities"] == [expected(oracle, named, staff) for _, named in chosen]
    drafts = sum(_draft_product(oracle, row, type_name) for _, (type_name, row) in chosen)
    assert drafts >= 20
    assert sum(e is None for e in result.data["_entities"]) == (0 if staff else drafts)
    assert result.sql == len(PAIRS)


@pytest.mark.parametrize(("type_name", "key"), PAIRS)
async def test_each_type_and_key_is_one_statement(
    api: Api, oracle: Oracle, type_name: str, key: str
) -> None:
    rows = _rows(oracle, type_name)[100:200]
    result = await api.query(
        ENTITIES, {"representations": [representation(type_name, key, row) for row in rows]}
    )
    assert len(result.data["_entities"]) == 100
    assert result.sql == 1


async def test_a_malformed_representation_is_its_own_error_and_the_others_resolve(
    api: Api, oracle: Oracle
) -> None:
    product = next(p for p in oracle.catalog.products if oracle.public(p))
    good = representation("Product", "id", product)
    malformed: list[Any] = [
        {"__typename": "Review", "id": "UmV2aWV3OjE="},  # not an entity here
        {"id": good["id"]},  # no __typename
        {"__typename": "Product"},  # no key
        {"__typename": "Product", "name": "by name?"},  # not a key
        {"__typename": "Product", "id": ids.encode("Category", 1)},  # an id of another type
        {"__typename": "Product", "id": "not base64!"},
        {"__typename": "ProductVariant", "id": 17},  # not a string
        {"__typename": "Category", "slug": ["a", "b"]},
        {"__typename": "ProductVariant", "sku": "x\x00y"},
        "Product:1",
    ]
    representations = [good, *malformed, good]
    result = await api.query(ENTITIES, {"representations": representations})
    entities = result.body["data"]["_entities"]
    assert entities[0] == entities[-1] == expected(oracle, ("Product", product), staff=False)
    assert entities[1:-1] == [None] * len(malformed)
    errors = sorted(result.errors, key=lambda e: e["path"][1])
    assert [e["path"] for e in errors] == [["_entities", i] for i in range(1, len(malformed) + 1)]
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
    assert "not an entity of this subgraph" in errors[0]["message"]
    assert "is a Category, not a Product" in errors[4]["message"]


async def test_unknown_keys_are_null(api: Api) -> None:
    result = await api.query(
        ENTITIES,
        {
            "representations": [
                {"__typename": "Product", "id": ids.encode("Product", 10**9)},
                {"__typename": "Product", "slug": "no-such-product"},
                {"__typename": "ProductVariant", "sku": "NO-SUCH-SKU"},
                {"__typename": "Category", "slug": "no-such-category"},
            ]
        },
    )
    assert result.data["_entities"] == [None] * 4


async def test_representations_count_toward_the_cost(api: Api, oracle: Oracle) -> None:
    document = """query($representations: [_Any!]!) { _entities(representations: $representations)
      { ... on Product { name category { name } } ... on ProductVariant { sku } } }"""
    products = oracle.catalog.products[:40]
    result = await api.query(
        document, {"representations": [representation("Product", "id", p) for p in products]}
    )
    # Each representation is an object (1) and its costliest selection (a category, 1).
    assert result.body["extensions"]["cost"]["requested"] == 40 * (1 + 1)


async def test_10000_representations_are_refused_before_they_run(api: Api, oracle: Oracle) -> None:
    many = [representation("Product", "id", oracle.catalog.products[0])] * 10_000
    costly = await api.query(ENTITIES, {"representations": many})
    assert costly.codes == ["OPERATION_TOO_COSTLY"]
    assert costly.body["extensions"]["cost"]["requested"] == 20_000
    assert "data" not in costly.body
    # At a cost under the limit, the field's own cap refuses them before any lookup.
    cheap = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    capped = await api.query(cheap, {"r": many[: MAX_REPRESENTATIONS + 1]})
    assert capped.codes == ["BAD_USER_INPUT"]
    assert f"at most {MAX_REPRESENTATIONS:,}" in capped.errors[0]["message"]
    assert capped.sql == 0


async def test_entities_through_the_cache_see_every_write(anonymous: Api, editor: Api) -> None:
    """With the cache on (SKU -> id kept like slugs, whole responses kept by their tags), a
    renamed SKU, a product hidden or a variant created answer at once."""
    product = await create(editor, status="ACTIVE")
    sku = f"FED-{product['id'][-8:]}"
    by_sku = {"__typename": "ProductVariant", "sku": sku}
    renamed = {"__typename": "ProductVariant", "sku": f"{sku}-2"}

    async def found(api: Api, wanted: dict[str, Any]) -> Any:
        result = await api.query(ENTITIES, {"representations": [wanted]})
        return result.data["_entities"][0]

    assert await found(anonymous, by_sku) is None  # no such SKU yet
    made = await variant(editor, product["id"], sku=sku)
    for _ in range(2):  # the second from the caches
        assert (await found(anonymous, by_sku))["id"] == made["id"]
    update = await editor.query(
        VARIANT_UPDATE, {"id": made["id"], "input": {"sku": renamed["sku"]}}
    )
    assert update.data["variantUpdate"]["userErrors"] == []
    assert await found(anonymous, by_sku) is None
    assert (await found(anonymous, renamed))["sku"] == renamed["sku"]
    hide = await editor.query(UPDATE, {"id": product["id"], "input": {"status": "DRAFT"}})
    assert hide.data["productUpdate"]["userErrors"] == []
    assert await found(anonymous, renamed) is None
    assert (await found(editor, renamed))["product"]["slug"] == product["slug"]
