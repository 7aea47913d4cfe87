"""Variants, stock and images: success, error codes, the product's price range, change rows."""

from typing import Any

import pytest

from graph import ids
from tests.support import Api, ChangeLog, workload
from tests.test_mutations_products import create

VARIANT_CREATE = """mutation($product: ID!, $input: VariantCreateInput!) {
  variantCreate(productId: $product, input: $input) {
    variant { id sku price { amount currency } compareAtPrice { amount } quantityAvailable
              selectedOptions { name value } product { priceRange { min { amount } max { amount } }
              isAvailable } }
    userErrors { field message code } } }"""
VARIANT_UPDATE = """mutation($id: ID!, $input: VariantUpdateInput!, $expected: DateTime) {
  variantUpdate(id: $id, input: $input, expectedUpdatedAt: $expected) {
    variant { id sku name price { amount } compareAtPrice { amount } quantityAvailable }
    userErrors { field message code } } }"""
VARIANT_DELETE = """mutation($id: ID!) { variantDelete(id: $id) { deletedVariantId
  product { priceRange { min { amount } max { amount } } } userErrors { code } } }"""
STOCK = """mutation($id: ID!, $delta: Int!) { stockAdjust(variantId: $id, delta: $delta) {
  variant { quantityAvailable } userErrors { field code } } }"""
IMAGE_ADD = """mutation($product: ID!, $input: ImageInput!) { productImageAdd(productId: $product,
  input: $input) { image { id url } product { images { id url } } userErrors { field code } } }"""
IMAGE_REMOVE = """mutation($id: ID!) { productImageRemove(imageId: $id) { deletedImageId
  product { images { id } } userErrors { code } } }"""
REORDER = """mutation($product: ID!, $ids: [ID!]!) { productImagesReorder(productId: $product,
  imageIds: $ids) { product { images { id } } userErrors { field code } } }"""


async def variant(editor: Api, product_id: str, **overrides: Any) -> dict[str, Any]:
    given = {
        "sku": f"SKU-{product_id[-6:]}-{len(overrides)}-{id(overrides)}",
        "name": "Variant",
        "price": "10.00",
        **overrides,
    }
    result = await editor.query(VARIANT_CREATE, {"product": product_id, "input": given})
    payload = result.data["variantCreate"]
    assert payload["userErrors"] == [], payload["userErrors"]
    made: dict[str, Any] = payload["variant"]
    return made


async def test_variants_keep_the_price_range_right(editor: Api, admin: Api) -> None:
    product = await create(editor)
    log = ChangeLog(admin)
    await log.mark()
    cheap = await variant(editor, product["id"], price="5.50", quantity=0)
    assert cheap["product"]["priceRange"]["min"]["amount"] == "5.50"
    assert cheap["product"]["isAvailable"] is False
    dear = await variant(
        editor,
        product["id"],
        price="99.99",
        quantity=3,
        compareAtPrice="120.00",
        selectedOptions=[{"name": "Size", "value": "L"}],
    )
    assert dear["product"]["priceRange"]["max"]["amount"] == "99.99"
    assert dear["selectedOptions"] == [{"name": "Size", "value": "L"}]
    assert dear["compareAtPrice"] == {"amount": "120.00"}
    changes = await log.since_mark()
    assert [(c["entityType"], c["kind"]) for c in changes] == [
        ("ProductVariant", "CREATED"),
        ("Product", "UPDATED"),
        ("ProductVariant", "CREATED"),
        ("Product", "UPDATED"),
    ]
    assert "priceRange" in changes[1]["changedFields"]
    await log.mark()
    w5 = await editor.query(workload("W5"), {"id": dear["id"], "amount": "1.25"})
    payload = w5.data["variantUpdate"]
    assert payload["userErrors"] == []
    assert payload["variant"]["price"]["amount"] == "1.25"
    assert payload["variant"]["product"]["priceRange"] == {
        "min": {"amount": "1.25"},
        "max": {"amount": "5.50"},
    }
    changes = await log.since_mark()
    assert [(c["entityType"], c["changedFields"]) for c in changes] == [
        ("ProductVariant", ["price"]),
        ("Product", ["priceRange", "variants"]),
    ]
    deleted = await editor.query(VARIANT_DELETE, {"id": cheap["id"]})
    range_after = deleted.data["variantDelete"]["product"]["priceRange"]
    assert range_after == {"min": {"amount": "1.25"}, "max": {"amount": "1.25"}}


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        ({"price": "-1.00"}, "price", "NEGATIVE"),
        ({"price": "1.005"}, "price", "TOO_PRECISE"),
        ({"price": "100000000000"}, "price", "TOO_LARGE"),
        ({"compareAtPrice": "-3"}, "compareAtPrice", "NEGATIVE"),
        ({"quantity": -1}, "quantity", "NEGATIVE"),
        ({"currency": "EUR"}, "currency", "CURRENCY_MISMATCH"),
        ({"currency": "EURO"}, "currency", "UNKNOWN_CURRENCY"),
        ({"name": ""}, "name", "BLANK"),
        ({"sku": "s" * 65}, "sku", "TOO_LONG"),
    ],
)
async def test_variant_create_errors(
    editor: Api, admin: Api, given: dict[str, Any], field: str, code: str
) -> None:
    product = await create(editor)
    log = ChangeLog(admin)
    await log.mark()
    base = {"sku": f"E-{product['slug']}", "name": "V", "price": "1.00"}
    result = await editor.query(VARIANT_CREATE, {"product": product["id"], "input": base | given})
    errors = result.data["variantCreate"]["userErrors"]
    assert [(e["field"][-1], e["code"]) for e in errors] == [(field, code)]
    assert await log.since_mark() == []


async def test_variant_update_errors_and_conflicts(editor: Api) -> None:
    product = await create(editor)
    one = await variant(editor, product["id"], sku=f"A-{product['slug']}")
    two = await variant(editor, product["id"], sku=f"B-{product['slug']}")
    taken = await editor.query(VARIANT_UPDATE, {"id": two["id"], "input": {"sku": one["sku"]}})
    assert taken.data["variantUpdate"]["userErrors"][0]["code"] == "TAKEN"
    cleared = await editor.query(
        VARIANT_UPDATE, {"id": two["id"], "input": {"compareAtPrice": None}}
    )
    assert cleared.data["variantUpdate"]["variant"]["compareAtPrice"] is None
    stale = "2020-01-01T00:00:00Z"
    conflict = await editor.query(
        VARIANT_UPDATE, {"id": two["id"], "input": {"name": "X"}, "expected": stale}
    )
    assert conflict.data["variantUpdate"]["userErrors"][0]["code"] == "CONFLICT"
    missing = await editor.query(
        VARIANT_UPDATE, {"id": ids.encode("ProductVariant", 999_999), "input": {"name": "X"}}
    )
    assert missing.data["variantUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    for bad in ({"price": "abc"}, {"price": 1.5}, {"quantity": "many"}, {"price": None}):
        result = await editor.query(VARIANT_UPDATE, {"id": two["id"], "input": bad})
        if bad == {"price": None}:
            assert result.data["variantUpdate"]["userErrors"] == []
        else:
            assert result.codes == ["BAD_USER_INPUT"]


async def test_stock_adjust(editor: Api, admin: Api) -> None:
    product = await create(editor)
    made = await variant(editor, product["id"], quantity=2)
    log = ChangeLog(admin)
    await log.mark()
    down = await editor.query(STOCK, {"id": made["id"], "delta": -2})
    assert down.data["stockAdjust"]["variant"]["quantityAvailable"] == 0
    changes = await log.since_mark()
    assert [(c["entityType"], c["changedFields"]) for c in changes] == [
        ("ProductVariant", ["quantityAvailable"]),
        ("Product", ["isAvailable", "variants"]),
    ]
    await log.mark()
    below = await editor.query(STOCK, {"id": made["id"], "delta": -1})
    assert below.data["stockAdjust"]["userErrors"] == [
        {"field": ["delta"], "code": "INSUFFICIENT_STOCK"}
    ]
    huge = await editor.query(STOCK, {"id": made["id"], "delta": 2_147_483_647})
    assert huge.data["stockAdjust"]["userErrors"] == []
    over = await editor.query(STOCK, {"id": made["id"], "delta": 1})
    assert over.data["stockAdjust"]["userErrors"][0]["code"] == "TOO_LARGE"
    missing = await editor.query(STOCK, {"id": ids.encode("ProductVariant", 999_999), "delta": 1})
    assert missing.data["stockAdjust"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert len(await log.since_mark()) == 2  # only the successful +2147483647


async def test_images_add_remove_reorder(editor: Api, admin: Api) -> None:
    product = await create(editor)
    added = []
    for n in range(3):
        result = await editor.query(
            IMAGE_ADD,
            {
                "product": product["id"],
                "input": {"url": f"https://img.test/{n}.jpg", "width": 10, "height": 10},
            },
        )
        payload = result.data["productImageAdd"]
        assert payload["userErrors"] == []
        added.append(payload["image"]["id"])
    assert [i["id"] for i in payload["product"]["images"]] == added
    log = ChangeLog(admin)
    await log.mark()
    order = [added[2], added[0], added[1]]
    result = await editor.query(REORDER, {"product": product["id"], "ids": order})
    assert [i["id"] for i in result.data["productImagesReorder"]["product"]["images"]] == order
    assert len([c for c in await log.since_mark() if c["entityType"] == "ProductImage"]) == 3
    bad = await editor.query(REORDER, {"product": product["id"], "ids": order[:2]})
    assert bad.data["productImagesReorder"]["userErrors"][0]["code"] == "INVALID"
    removed = await editor.query(IMAGE_REMOVE, {"id": added[0]})
    assert [i["id"] for i in removed.data["productImageRemove"]["product"]["images"]] == [
        added[2],
        added[1],
    ]
    again = await editor.query(IMAGE_REMOVE, {"id": added[0]})
    assert again.data["productImageRemove"]["userErrors"][0]["code"] == "NOT_FOUND"
    for bad_input, code in [
        ({"url": "ftp://x", "width": 1, "height": 1}, "INVALID"),
        ({"url": "https://x", "width": 0, "height": 1}, "INVALID"),
    ]:
        result = await editor.query(IMAGE_ADD, {"product": product["id"], "input": bad_input})
        assert result.data["productImageAdd"]["userErrors"][0]["code"] == code
