"""Keyset pagination: every product exactly once, in order, in both directions, for every sort."""

import base64
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest

from graph.ids import decode_as
from graph.settings import Settings
from tests.conftest import serving
from tests.support import Api, Oracle

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sort: ProductSort) {
  products(first: $first, after: $after, last: $last, before: $before, sortBy: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name priceRange { min { amount } } createdAt updatedAt } }
  }
}
"""
CATEGORY_PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sort: ProductSort) {
  category(slug: "electronics") {
    products(first: $first, after: $after, last: $last, before: $before, sortBy: $sort) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name priceRange { min { amount } } createdAt updatedAt } }
    }
  }
}
"""
SORTS = [
    {"field": field, "direction": direction}
    for field in ("NAME", "PRICE", "CREATED_AT", "UPDATED_AT")
    for direction in ("ASC", "DESC")
]
KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "NAME": lambda n: n["name"],
    "PRICE": lambda n: Decimal(n["priceRange"]["min"]["amount"]),
    "CREATED_AT": lambda n: n["createdAt"],
    "UPDATED_AT": lambda n: n["updatedAt"],
}


async def walk(
    api: Api, sort: dict[str, str], size: int, backward: bool, in_category: bool = False
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1_000):
        variables: dict[str, Any] = {"sort": sort}
        if backward:
            variables.update(last=size, before=cursor)
        else:
            variables.update(first=size, after=cursor)
        if in_category:
            page = (await api.query(CATEGORY_PAGE, variables)).data["category"]["products"]
        else:
            page = (await api.query(PAGE, variables)).data["products"]
        batch = [edge["node"] for edge in page["edges"]]
        assert len(batch) <= size
        info = page["pageInfo"]
        if backward:
            nodes[:0] = batch
            assert info["hasNextPage"] is (cursor is not None)
            if not info["hasPreviousPage"]:
                return nodes
            cursor = info["startCursor"]
        else:
            nodes += batch
            assert info["hasPreviousPage"] is (cursor is not None)
            if not info["hasNextPage"]:
                return nodes
            cursor = info["endCursor"]
        assert len(batch) == size
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: f"{s['field']}-{s['direction']}")
async def test_walk_every_sort_both_ways(api: Api, oracle: Oracle, sort: dict[str, str]) -> None:
    public = [p for p in oracle.catalog.products if oracle.public(p)]
    forward = await walk(api, sort, 97, backward=False)
    backward = await walk(api, sort, 89, backward=True)
    ids = [n["id"] for n in forward]
    assert len(ids) == len(set(ids)) == len(public)
    assert [n["id"] for n in backward] == ids
    keys = [KEYS[sort["field"]](n) for n in forward]
    descending = sort["direction"] == "DESC"
    assert keys == sorted(keys, reverse=descending)


@pytest.mark.parametrize("sort", SORTS, ids=lambda s: f"{s['field']}-{s['direction']}")
async def test_walk_a_category_subtree(api: Api, oracle: Oracle, sort: dict[str, str]) -> None:
    public = oracle.products_in(oracle.category_by_slug("electronics")["id"])
    forward = await walk(api, sort, 13, backward=False, in_category=True)
    backward = await walk(api, sort, 11, backward=True, in_category=True)
    ids = [n["id"] for n in forward]
    assert len(ids) == len(set(ids)) == len(public)
    assert [n["id"] for n in backward] == ids
    keys = [KEYS[sort["field"]](n) for n in forward]
    assert keys == sorted(keys, reverse=sort["direction"] == "DESC")


def test_the_seed_has_price_and_name_ties(oracle: Oracle) -> None:
    """Without ties the walks above could not catch a tie-breaking bug."""
    public = [p for p in oracle.catalog.products if oracle.public(p)]
    assert max(Counter(p["min_price"] for p in public).values()) > 1
    assert max(Counter(p["name"] for p in public).values()) > 1


async def test_category_pages_walk_ties_on_price(api: Api, oracle: Oracle) -> None:
    category = oracle.category_by_slug("electronics")
    document = """
    query($after: String) { category(slug: "electronics") {
      products(first: 7, after: $after, sortBy: {field: PRICE}) {
        pageInfo { hasNextPage endCursor } edges { node { slug } } } } }"""
    slugs: list[str] = []
    after = None
    while True:
        page = (await api.query(document, {"after": after})).data["category"]["products"]
        slugs += [e["node"]["slug"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = sorted(oracle.products_in(category["id"]), key=lambda p: (p["min_price"], p["id"]))
    assert slugs == [p["slug"] for p in expected]


async def test_total_count_ignores_the_cursor(api: Api) -> None:
    first = (await api.query(PAGE, {"first": 5})).data["products"]
    second = (await api.query(PAGE, {"first": 5, "after": first["pageInfo"]["endCursor"]})).data
    assert second["products"]["totalCount"] == first["totalCount"]


async def test_first_zero_gives_an_empty_page_that_knows_more_follow(api: Api) -> None:
    page = (await api.query(PAGE, {"first": 0})).data["products"]
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is True


def forged(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode()


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"first": 1000}, "between 0 and 100"),
        ({"first": 101}, "between 0 and 100"),
        ({"first": -1}, "between 0 and 100"),
        ({"last": -5}, "between 0 and 100"),
        ({"first": 1, "last": 1}, "not both"),
        ({"first": 1, "after": "not a cursor"}, "Invalid cursor"),
        ({"first": 1, "after": forged(["NAME:ASC", 5, 1])}, "Invalid cursor"),
        ({"first": 1, "after": forged(["NAME:ASC", "x"])}, "Invalid cursor"),
        ({"first": 1, "after": forged({"a": 1})}, "Invalid cursor"),  # type: ignore[arg-type]
        (
            {"first": 1, "after": forged(["PRICE:ASC", "abc", 1]), "sort": {"field": "PRICE"}},
            "Invalid cursor",
        ),
        ({"first": 1, "before": forged(["PRICE:ASC", "1.00", 1])}, "another sort"),
        ({"first": 1, "after": "\x00"}, "Invalid cursor"),
    ],
)
async def test_bad_page_arguments_are_bad_user_input(
    api: Api, variables: dict[str, Any], fragment: str
) -> None:
    result = await api.query(PAGE, variables)
    assert result.codes == ["BAD_USER_INPUT"]
    assert fragment in result.errors[0]["message"]
    assert result.body["data"] is None


async def test_include_subcategories_false_lists_only_the_category_itself(
    api: Api, oracle: Oracle
) -> None:
    document = """query($slug: String, $sub: Boolean) { category(slug: $slug) {
      products(first: 100, includeSubcategories: $sub) { totalCount edges { node { slug } } } } }"""
    root = await api.query(document, {"slug": "electronics", "sub": False})
    assert root.data["category"]["products"]["totalCount"] == 0
    leaf = oracle.category_by_slug("everyday-laptops")
    own = sorted((p for p in oracle.products_in(leaf["id"])), key=lambda p: (p["name"], p["id"]))
    for sub in (False, None):
        result = await api.query(document, {"slug": "everyday-laptops", "sub": sub})
        page = result.data["category"]["products"]
        assert [e["node"]["slug"] for e in page["edges"]] == [p["slug"] for p in own]


IMAGES = """query($slug: String!) { category(slug: $slug) { products(first: 40) { edges { node {
  id one: images(first: 1) { url } two: images(first: 2) { url } all: images { url } } } } } }"""


@pytest.mark.parametrize("cached", [False, True], ids=["no cache", "row cache"])
async def test_images_first_n_are_each_products_first_n(
    settings: Settings, oracle: Oracle, cached: bool
) -> None:
    """Without a cache only the images asked for are read (a loader per count); with one,
    each product's whole list is cached and sliced. Both answer what the seed holds, twice."""
    by_product: dict[int, list[str]] = {}
    for image in sorted(oracle.catalog.images, key=lambda i: (i["position"], i["id"])):
        by_product.setdefault(image["product_id"], []).append(image["url"])
    root = next(c for c in oracle.catalog.categories if c["parent_id"] is None)
    async with serving(settings.model_copy(update={"cache_enabled": cached})) as client:
        api = Api(client)
        for _ in range(2):  # the second time from the cache, when there is one
            edges = (await api.query(IMAGES, {"slug": root["slug"]})).data["category"]
            nodes = [edge["node"] for edge in edges["products"]["edges"]]
            assert nodes
            for node in nodes:
                urls = by_product.get(decode_as(node["id"], "Product"), [])
                assert [i["url"] for i in node["all"]] == urls[:20]
                assert [i["url"] for i in node["two"]] == urls[:2]
                assert [i["url"] for i in node["one"]] == urls[:1]
            assert any(len(node["all"]) > 2 for node in nodes)
