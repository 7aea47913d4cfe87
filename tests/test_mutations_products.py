"""productCreate, productUpdate and productDelete: success, every error code, every role."""

import itertools
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from graph import ids
from graph.auth import issue
from graph.settings import Settings
from graph.viewer import Role
from tests.support import Api, ChangeLog

CREATE = """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
  product { id slug name status updatedAt category { slug } priceRange { min { amount currency } } }
  userErrors { field message code } } }"""
UPDATE = """mutation($id: ID!, $input: ProductUpdateInput!, $expected: DateTime) {
  productUpdate(id: $id, input: $input, expectedUpdatedAt: $expected) {
    product { id slug name status updatedAt category { slug } }
    userErrors { field message code } } }"""
DELETE = """mutation($id: ID!) { productDelete(id: $id) { deletedProductId
  userErrors { field message code } } }"""
BY_SLUG = "query($slug: String) { product(slug: $slug) { id name status } }"
LEAF = ids.encode("Category", 11)  # a mid-level category of the seed
_numbers = itertools.count(1)


def fresh(prefix: str = "made") -> str:
    return f"{prefix}-{next(_numbers)}"


def product_input(**overrides: Any) -> dict[str, Any]:
    slug = fresh()
    return {"slug": slug, "name": f"Product {slug}", "categoryId": LEAF, **overrides}


async def create(editor: Api, **overrides: Any) -> dict[str, Any]:
    result = await editor.query(CREATE, {"input": product_input(**overrides)})
    payload = result.data["productCreate"]
    assert payload["userErrors"] == []
    product: dict[str, Any] = payload["product"]
    return product


async def test_create_records_one_change_and_stays_hidden_as_draft(
    editor: Api, anonymous: Api, admin: Api
) -> None:
    log = ChangeLog(admin)
    await log.mark()
    product = await create(editor, description="Soft and warm")
    assert product["status"] == "DRAFT"
    assert product["priceRange"]["min"] == {"amount": "0.00", "currency": "USD"}
    assert (await anonymous.query(BY_SLUG, {"slug": product["slug"]})).data["product"] is None
    seen = (await editor.query(BY_SLUG, {"slug": product["slug"]})).data["product"]
    assert seen["id"] == product["id"]
    [change] = await log.since_mark()
    assert change["entityId"] == product["id"]
    assert (change["entityType"], change["kind"]) == ("Product", "CREATED")
    assert change["actor"] == "editor@example.com"
    assert change["categoryIds"] == [ids.encode("Category", 1), LEAF]
    assert {"slug", "name", "status", "category"} <= set(change["changedFields"])


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"name": ""}, "name", "BLANK"),
        ({"name": "   "}, "name", "BLANK"),
        ({"name": "x" * 256}, "name", "TOO_LONG"),
        ({"name": "é" * 1_048_576}, "name", "TOO_LONG"),
        ({"name": "nul\x00"}, "name", "INVALID"),
        ({"slug": "Not A Slug"}, "slug", "INVALID"),
        ({"slug": "electronics-1"}, "slug", "INVALID"),
        ({"currency": "XYZ"}, "currency", "UNKNOWN_CURRENCY"),
        ({"categoryId": ids.encode("Category", 99_999)}, "categoryId", "NOT_FOUND"),
    ],
)
async def test_create_refuses_bad_input(
    editor: Api, admin: Api, overrides: dict[str, Any], field: str, code: str
) -> None:
    log = ChangeLog(admin)
    await log.mark()
    if overrides.get("slug") == "electronics-1":
        overrides = {"slug": (await create(editor))["slug"]}
        code = "TAKEN"
    result = await editor.query(CREATE, {"input": product_input(**overrides)})
    payload = result.data["productCreate"]
    assert payload["product"] is None
    assert [(e["field"][-1], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    if code != "TAKEN":
        assert await log.since_mark() == []


async def test_update_changes_only_what_differs(editor: Api, admin: Api) -> None:
    product = await create(editor)
    log = ChangeLog(admin)
    await log.mark()
    moved = ids.encode("Category", 12)
    result = await editor.query(
        UPDATE,
        {
            "id": product["id"],
            "input": {"name": "Renamed", "status": "ACTIVE", "categoryId": moved},
        },
    )
    updated = result.data["productUpdate"]["product"]
    assert (updated["name"], updated["status"]) == ("Renamed", "ACTIVE")
    assert updated["updatedAt"] > product["updatedAt"]
    [change] = await log.since_mark()
    assert sorted(change["changedFields"]) == ["category", "name", "status"]
    assert set(change["categoryIds"]) == {ids.encode("Category", i) for i in (1, 11, 12)}
    await log.mark()
    same = await editor.query(UPDATE, {"id": product["id"], "input": {"name": "Renamed"}})
    assert same.data["productUpdate"]["userErrors"] == []
    assert await log.since_mark() == []


async def test_update_with_a_stale_timestamp_is_a_conflict(editor: Api, admin: Api) -> None:
    product = await create(editor)
    stale = product["updatedAt"]
    first = await editor.query(
        UPDATE, {"id": product["id"], "input": {"name": "One"}, "expected": stale}
    )
    assert first.data["productUpdate"]["userErrors"] == []
    log = ChangeLog(admin)
    await log.mark()
    second = await editor.query(
        UPDATE, {"id": product["id"], "input": {"name": "Two"}, "expected": stale}
    )
    payload = second.data["productUpdate"]
    assert payload["product"] is None
    assert payload["userErrors"][0]["code"] == "CONFLICT"
    assert payload["userErrors"][0]["field"] == ["expectedUpdatedAt"]
    assert await log.since_mark() == []


async def test_update_errors(editor: Api) -> None:
    taken = (await create(editor))["slug"]
    product = await create(editor)
    cases = [
        ({"slug": taken}, "TAKEN"),
        ({"slug": "UPPER"}, "INVALID"),
        ({"name": ""}, "BLANK"),
        ({"categoryId": ids.encode("Category", 99_999)}, "NOT_FOUND"),
    ]
    for given, code in cases:
        result = await editor.query(UPDATE, {"id": product["id"], "input": given})
        assert [e["code"] for e in result.data["productUpdate"]["userErrors"]] == [code]
    missing = await editor.query(UPDATE, {"id": ids.encode("Product", 99_999), "input": {}})
    assert missing.data["productUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    wrong_type = await editor.query(UPDATE, {"id": ids.encode("Category", 1), "input": {}})
    assert wrong_type.codes == ["BAD_USER_INPUT"]


async def test_delete_removes_the_product_and_records_it(editor: Api, admin: Api) -> None:
    product = await create(editor)
    log = ChangeLog(admin)
    await log.mark()
    result = await editor.query(DELETE, {"id": product["id"]})
    assert result.data["productDelete"]["deletedProductId"] == product["id"]
    assert (await editor.query(BY_SLUG, {"slug": product["slug"]})).data["product"] is None
    [change] = await log.since_mark()
    assert (change["entityId"], change["kind"]) == (product["id"], "DELETED")
    again = await editor.query(DELETE, {"id": product["id"]})
    assert again.data["productDelete"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_roles_and_tokens(
    write_client: httpx.AsyncClient, write_settings: Settings, anonymous: Api, editor: Api
) -> None:
    refused = await anonymous.query(CREATE, {"input": product_input()})
    assert refused.codes == ["UNAUTHENTICATED"]
    category = 'mutation { categoryCreate(input: {slug: "x-y", name: "X"}) { category { id } } }'
    assert (await editor.query(category)).codes == ["FORBIDDEN"]
    expired = issue(write_settings, Role.EDITOR, "late", timedelta(seconds=-5))
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": 9_999_999_999}, "not-the-secret" * 3)
    for header in (f"Bearer {expired}", f"Bearer {forged}", "Bearer not-a-jwt", "Basic abc"):
        response = await write_client.post(
            "/graphql",
            json={"query": "{ products { totalCount } }"},
            headers={"authorization": header},
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
