"""Bad ids and arguments get BAD_USER_INPUT or null as documented; never a traceback."""

from typing import Any

import httpx
import pytest

from graph import ids
from graph.execution.documents import MAX_OPERATION_NAMES
from graph.state import GatewayState
from tests.support import Api, Oracle

PRODUCT = "query($id: ID, $slug: String) { product(id: $id, slug: $slug) { id name } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on Product { name } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def draft(oracle: Oracle) -> dict[str, Any]:
    return next(p for p in oracle.catalog.products if not oracle.public(p))


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (NODE, {"id": "not-base64!"}),
        (NODE, {"id": ids.encode("Product", 0)}),
        (NODE, {"id": "UHJvZHVjdDp4"}),  # "Product:x"
        (NODE, {"id": ids.encode("Warehouse", 1)}),
        (PRODUCT, {"id": ids.encode("Category", 1)}),
        (PRODUCT, {"id": ids.encode("Product", 1), "slug": "both"}),
        (PRODUCT, {}),
        (PRODUCT, {"slug": "nul\x00byte"}),
        (PRODUCT, {"slug": "x" * 10_000}),
        (NODES, {"ids": [ids.encode("Product", 1)] * 101}),
        ('{ category(id: "Q2F0ZWdvcnk6") { id } }', {}),
        ('{ products(filter: {categoryId: "UHJvZHVjdDox"}) { totalCount } }', {}),
    ],
)
async def test_bad_ids_and_lookups(api: Api, document: str, variables: dict[str, Any]) -> None:
    result = await api.query(document, variables)
    assert result.codes == ["BAD_USER_INPUT"]
    assert "Traceback" not in str(result.body)


async def test_unknown_ids_and_slugs_are_null(api: Api) -> None:
    for document, variables in [
        (NODE, {"id": ids.encode("Product", 999_999)}),
        (NODE, {"id": ids.encode("Category", 999_999)}),
        (NODE, {"id": ids.encode("ProductVariant", 999_999)}),
        (PRODUCT, {"slug": "no-such-product"}),
        (PRODUCT, {"id": ids.encode("Product", 999_999)}),
    ]:
        result = await api.query(document, variables)
        assert result.errors == []
        assert next(iter(result.data.values())) is None


async def test_drafts_are_hidden_from_anonymous_viewers(api: Api, oracle: Oracle) -> None:
    hidden = draft(oracle)
    by_slug = await api.query(PRODUCT, {"slug": hidden["slug"]})
    assert by_slug.data["product"] is None
    by_node = await api.query(NODE, {"id": ids.encode("Product", hidden["id"])})
    assert by_node.data["node"] is None
    variant = next(v for v in oracle.catalog.variants if v["product_id"] == hidden["id"])
    by_variant = await api.query(NODE, {"id": ids.encode("ProductVariant", variant["id"])})
    assert by_variant.data["node"] is None
    asking = await api.query("{ products(first: 5, filter: {status: [DRAFT]}) { totalCount } }")
    assert asking.data["products"]["totalCount"] == 0
    category = oracle.categories[hidden["category_id"]]
    count = await api.query(
        "query($s: String) { category(slug: $s) { productCount } }", {"s": category["slug"]}
    )
    assert count.data["category"]["productCount"] == len(oracle.products_in(category["id"]))


async def test_nodes_keeps_order_and_nulls(api: Api, oracle: Oracle) -> None:
    public = next(p for p in oracle.catalog.products if oracle.public(p))
    wanted = [
        ids.encode("Product", public["id"]),
        ids.encode("Product", 999_999),
        ids.encode("Category", 1),
    ]
    result = await api.query(NODES, {"ids": wanted})
    assert [n and n["id"] for n in result.data["nodes"]] == [wanted[0], None, wanted[2]]


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"min": 10.5}, "strings"),
        ({"min": "abc"}, "not a decimal"),
        ({"min": "NaN"}, "finite"),
        ({"min": "1e400"}, "below"),
        ({"min": "-1e16"}, "below"),
        ({"min": True}, "strings"),
    ],
)
async def test_decimal_variables_are_exact_strings(
    api: Api, variables: dict[str, Any], fragment: str
) -> None:
    document = "query($min: Decimal) { products(filter: {minPrice: $min}) { totalCount } }"
    result = await api.query(document, variables)
    assert result.codes == ["BAD_USER_INPUT"]
    assert fragment in result.errors[0]["message"]


async def test_price_filters_accept_strings_and_literals(api: Api, oracle: Oracle) -> None:
    public = [p for p in oracle.catalog.products if oracle.public(p)]
    expected = sum(1 for p in public if 100 <= p["min_price"] <= 250)
    for document in [
        '{ products(filter: {minPrice: "100", maxPrice: "250.00"}) { totalCount } }',
        "{ products(filter: {minPrice: 100, maxPrice: 250.00}) { totalCount } }",
    ]:
        assert (await api.query(document)).data["products"]["totalCount"] == expected


async def test_images_first_is_capped(api: Api, oracle: Oracle) -> None:
    slug = next(p["slug"] for p in oracle.catalog.products if oracle.public(p))
    document = "query($s: String, $n: Int) { product(slug: $s) { images(first: $n) { url } } }"
    assert (await api.query(document, {"s": slug, "n": 21})).codes == ["BAD_USER_INPUT"]
    assert (await api.query(document, {"s": slug, "n": -1})).codes == ["BAD_USER_INPUT"]
    one = await api.query(document, {"s": slug, "n": 1})
    assert len(one.data["product"]["images"]) == 1


async def test_a_failing_field_does_not_break_its_siblings_that_share_a_load(
    api: Api, oracle: Oracle
) -> None:
    """graphql-core cancels a failed field's siblings; their loads are shared with other fields
    (one DataLoader future per key), which must still get their value, not a cancellation."""
    product = next(p for p in oracle.catalog.products if oracle.public(p))
    document = """query($id: ID!) {
      a: product(id: $id) { category { name } images(first: 999) { url } }
      b: product(id: $id) { name category { name } }
    }"""
    result = await api.query(document, {"id": ids.encode("Product", product["id"])})
    assert result.status == 200
    assert result.codes == ["BAD_USER_INPUT"]
    assert result.body["data"]["a"] is None
    assert result.body["data"]["b"]["name"] == product["name"]
    assert result.body["data"]["b"]["category"]["name"]


async def test_a_document_sent_under_a_hundred_operation_names_answers_each_and_keeps_few(
    client: httpx.AsyncClient,
) -> None:
    """A prepared document remembers each operation it found by name; a client that sends
    names at random neither grows that without bound nor changes any answer."""
    document = "query A { __typename } query B { __typename }"
    for i in range(100):
        response = await client.post(
            "/graphql", json={"query": document, "operationName": f"Nope{i}"}
        )
        body = response.json()
        assert body["errors"][0]["message"] == f"Unknown operation named 'Nope{i}'."
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for name in ("B", "A"):
        response = await client.post("/graphql", json={"query": document, "operationName": name})
        assert response.json()["data"] == {"__typename": "Query"}
    state: GatewayState = client._transport.app.state.gateway  # type: ignore[attr-defined]
    prepared = await state.documents.prepare(document)
    assert len(prepared._operations) <= MAX_OPERATION_NAMES
    assert prepared.operation("B") is not None
    assert prepared.operation("Nope7") is None
