"""Every mutation under hostile input: never a 500, a traceback or an INTERNAL_SERVER_ERROR."""

from typing import Any

import httpx
import pytest

from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.conftest import token

PRODUCT = ids.encode("Product", 1)
VARIANT = ids.encode("ProductVariant", 1)
IMAGE = ids.encode("ProductImage", 1)
CATEGORY = ids.encode("Category", 5)
HUGE = "x" * 1_048_576
WEIRD = ["", " ", "\x00", "💥🧨", "‮reversed", "<script>", "a" * 300, HUGE]
PRICES: list[Any] = ["-1", "abc", "1e400", "NaN", "-0.001", 1.5, True, None, "", " 1"]

MUTATIONS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "productCreate": (
        "mutation($input: ProductCreateInput!) { productCreate(input: $input) "
        "{ userErrors { code } } }",
        [{"input": {"slug": w, "name": w, "categoryId": CATEGORY}} for w in WEIRD]
        + [{"input": {"slug": "s", "name": "n", "categoryId": w}} for w in WEIRD]
        + [{"input": {"slug": "s"}}, {"input": None}, {}, {"input": []}, {"input": {"slug": 5}}],
    ),
    "productUpdate": (
        "mutation($id: ID!, $input: ProductUpdateInput!, $e: DateTime) { productUpdate(id: $id, "
        "input: $input, expectedUpdatedAt: $e) { userErrors { code } } }",
        [{"id": PRODUCT, "input": {"name": w, "description": w}} for w in WEIRD]
        + [{"id": w, "input": {}} for w in WEIRD]
        + [
            {"id": PRODUCT, "input": {}, "e": w}
            for w in ("yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00")
        ]
        + [{"id": 12, "input": {}}, {"id": PRODUCT, "input": {"status": "GONE"}}],
    ),
    "productDelete": (
        "mutation($id: ID!) { productDelete(id: $id) { userErrors { code } } }",
        [{"id": w} for w in WEIRD] + [{"id": None}, {"id": ids.encode("Product", 2**63)}],
    ),
    "variantCreate": (
        "mutation($p: ID!, $input: VariantCreateInput!) { variantCreate(productId: $p, "
        "input: $input) { userErrors { code } } }",
        [{"p": PRODUCT, "input": {"sku": "z", "name": "z", "price": p}} for p in PRICES]
        + [{"p": PRODUCT, "input": {"sku": w, "name": w, "price": "1"}} for w in WEIRD]
        + [
            {
                "p": PRODUCT,
                "input": {
                    "sku": "q",
                    "name": "q",
                    "price": "1",
                    "quantity": -5,
                    "selectedOptions": [{"name": w, "value": w}],
                },
            }
            for w in WEIRD
        ],
    ),
    "variantUpdate": (
        "mutation($id: ID!, $input: VariantUpdateInput!) { variantUpdate(id: $id, input: $input) "
        "{ userErrors { code } } }",
        [{"id": VARIANT, "input": {"price": p, "compareAtPrice": p}} for p in PRICES]
        + [{"id": VARIANT, "input": {"quantity": q}} for q in (-1, 2**31, "1", 1.5)],
    ),
    "variantDelete": (
        "mutation($id: ID!) { variantDelete(id: $id) { userErrors { code } } }",
        [{"id": w} for w in WEIRD] + [{"id": PRODUCT}],
    ),
    "stockAdjust": (
        "mutation($id: ID!, $d: Int!) { stockAdjust(variantId: $id, delta: $d) "
        "{ userErrors { code } } }",
        [{"id": VARIANT, "d": d} for d in (-(2**31), 2**31 - 1, 2**31, "5", None, 0)],
    ),
    "productImageAdd": (
        "mutation($p: ID!, $input: ImageInput!) { productImageAdd(productId: $p, input: $input) "
        "{ userErrors { code } } }",
        [{"p": PRODUCT, "input": {"url": w, "alt": w, "width": 1, "height": 1}} for w in WEIRD]
        + [
            {"p": PRODUCT, "input": {"url": "/a.jpg", "width": n, "height": n}}
            for n in (-1, 0, 2**31)
        ],
    ),
    "productImageRemove": (
        "mutation($id: ID!) { productImageRemove(imageId: $id) { userErrors { code } } }",
        [{"id": w} for w in WEIRD] + [{"id": IMAGE}],
    ),
    "productImagesReorder": (
        "mutation($p: ID!, $ids: [ID!]!) { productImagesReorder(productId: $p, imageIds: $ids) "
        "{ userErrors { code } } }",
        [{"p": PRODUCT, "ids": v} for v in ([], [IMAGE, IMAGE], [PRODUCT], ["x"], [None], None)],
    ),
    "categoryCreate": (
        "mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) "
        "{ userErrors { code } } }",
        [{"input": {"slug": w, "name": w}} for w in WEIRD]
        + [{"input": {"slug": "c", "name": "c", "parentId": w}} for w in WEIRD],
    ),
    "categoryUpdate": (
        "mutation($id: ID!, $input: CategoryUpdateInput!) { categoryUpdate(id: $id, input: $input) "
        "{ userErrors { code } } }",
        [{"id": CATEGORY, "input": {"name": w, "position": -1}} for w in WEIRD]
        + [{"id": CATEGORY, "input": {"parentId": w}} for w in WEIRD],
    ),
    "categoryDelete": (
        "mutation($id: ID!) { categoryDelete(id: $id) { userErrors { code } } }",
        [{"id": w} for w in WEIRD],
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_hostile_input_never_breaks_the_server(
    write_client: httpx.AsyncClient, write_settings: Settings, name: str
) -> None:
    document, cases = MUTATIONS[name]
    headers = {"authorization": f"Bearer {token(write_settings, Role.ADMIN)}"}
    for variables in cases:
        response = await write_client.post(
            "/graphql", json={"query": document, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, (variables, response.text[:300])
        body = response.json()
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (variables, body)
        assert "Traceback" not in response.text
        assert codes or body["data"][name] is not None
