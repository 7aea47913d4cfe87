"""Search: what it finds, in what order, facets against brute force, statements and the index."""

import random
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import create_engine
from db.pagination import PageWindow
from db.queries import search as search_queries
from db.queries.products import ProductFilter
from db.search.text import parse
from db.seed import ADJECTIVES, MATERIALS, TREE
from graph import ids
from graph.settings import Settings
from graph.viewer import Role
from tests.conftest import token
from tests.support import Api, Oracle

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEARCH = """
query($search: String, $filter: ProductFilter, $first: Int, $after: String, $sortBy: ProductSort) {
  products(search: $search, filter: $filter, first: $first, after: $after, sortBy: $sortBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name } }
  }
}
"""
FACETS = """
query($search: String, $filter: ProductFilter, $first: Int) {
  products(search: $search, filter: $filter, first: $first) {
    totalCount
    edges { node { id name } }
    facets {
      categories { category { id name } count }
      priceBuckets { min max count }
      inStock { value count }
      options { name values { value count } }
    }
  }
}
"""
EDGES = (Decimal(25), Decimal(50), Decimal(100), Decimal(250), Decimal(500), Decimal(1000))


def product_id(global_id: str) -> int:
    return ids.decode_as(global_id, "Product")


async def found(api: Api, search: str | None, **variables: Any) -> list[int]:
    """Every match's id, in order, paging through with `first: 100`."""
    out: list[int] = []
    after = None
    while True:
        page = (
            await api.query(SEARCH, {"search": search, "first": 100, "after": after, **variables})
        ).data["products"]
        out += [product_id(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(out) == page["totalCount"]
            return out
        after = page["pageInfo"]["endCursor"]


def _sample(oracle: Oracle) -> dict[str, Any]:
    """An ACTIVE product whose name ends in a long one-word noun, with its variants."""
    for product in oracle.catalog.products:
        noun = product["name"].split()[-1]
        if oracle.public(product) and len(noun) >= 7 and len(product["name"].split()) == 3:
            return product
    raise AssertionError("no sample product")


def _variants(oracle: Oracle, pid: int) -> list[dict[str, Any]]:
    return [v for v in oracle.catalog.variants if v["product_id"] == pid]


async def test_finds_a_product_by_word_typo_prefix_sku_and_category(
    api: Api, oracle: Oracle
) -> None:
    product = _sample(oracle)
    adjective, material, noun = product["name"].split()
    typo = noun[:3] + noun[4:]  # one letter dropped
    for text in (
        product["name"],
        f"{adjective} {material} {typo}",
        f"{adjective} {material} {noun[:3]}",
        f"{adjective.lower()}  {material.upper()} {noun}",
    ):
        assert product["id"] in await found(api, text), text
    sku = _variants(oracle, product["id"])[0]["sku"]
    assert await found(api, sku) == [product["id"]]
    mid = oracle.categories[oracle.categories[product["category_id"]]["parent_id"]]
    in_mid = {p["id"] for p in oracle.products_in(mid["id"])}
    assert set(await found(api, mid["name"])) == in_mid


async def test_words_must_all_match_as_prefixes(api: Api, oracle: Oracle) -> None:
    """Brute force over the seed for words too short to be corrected."""
    rng = random.Random(14)
    for _ in range(6):
        words = [rng.choice(ADJECTIVES)[:3], rng.choice(MATERIALS)[:3]]
        expected = {
            p["id"]
            for p in oracle.catalog.products
            if oracle.public(p) and all(_has_prefix(oracle, p, w.lower()) for w in words)
        }
        assert set(await found(api, " ".join(words))) == expected, words


def _words(oracle: Oracle, product: dict[str, Any]) -> set[str]:
    chain = oracle.categories[product["category_id"]]["path"].strip("/").split("/")
    texts = [product["name"], product["description"]]
    texts += [oracle.categories[int(c)]["name"] for c in chain]
    texts += [v["sku"] for v in _variants(oracle, product["id"])]
    return {w for text in texts for w in parse_words(text)}


def parse_words(text: str) -> list[str]:
    query = parse(text)
    return [] if query is None else [t for c in query.clauses for i in c for t in i.tokens]


def _has_prefix(oracle: Oracle, product: dict[str, Any], prefix: str) -> bool:
    return any(w.startswith(prefix) for w in _words(oracle, product))


async def test_relevance_puts_a_name_match_above_a_description_match(editor: Api) -> None:
    create = """mutation($input: ProductCreateInput!) { productCreate(input: $input) {
      product { id } userErrors { message } } }"""
    leaf = ids.encode("Category", 11)
    made = []
    for slug, name, description in (
        ("quokka-described", "Plain Lamp", "Inspired by the quokka"),
        ("quokka-named", "Quokka Lamp", "A lamp"),
    ):
        variables = {"input": {"slug": slug, "name": name, "description": description}}
        variables["input"]["categoryId"] = leaf
        made.append((await editor.query(create, variables)).data["productCreate"]["product"]["id"])
    page = (await editor.query(SEARCH, {"search": "quokka"})).data["products"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [made[1], made[0]]
    renamed = """mutation($id: ID!) { productUpdate(id: $id, input: {name: "Wombat Lamp"}) {
      product { id } userErrors { message } } }"""
    await editor.query(renamed, {"id": made[1]})
    page = (await editor.query(SEARCH, {"search": "quokka"})).data["products"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [made[0]]
    page = (await editor.query(SEARCH, {"search": "wombat"})).data["products"]
    assert [edge["node"]["id"] for edge in page["edges"]] == [made[1]]


async def test_paging_by_relevance_returns_each_match_once_in_order(api: Api) -> None:
    whole = (await api.query(SEARCH, {"search": "oak or cedar", "first": 100})).data["products"]
    expected = [product_id(edge["node"]["id"]) for edge in whole["edges"]]
    assert 20 < len(expected) == whole["totalCount"] < 100
    walked: list[int] = []
    after = None
    for _ in range(100):
        page = (
            await api.query(SEARCH, {"search": "oak or cedar", "first": 7, "after": after})
        ).data["products"]
        walked += [product_id(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == expected
    relevance = {"field": "RELEVANCE", "direction": "ASC"}
    explicit = await api.query(
        SEARCH, {"search": "oak or cedar", "first": 100, "sortBy": relevance}
    )
    assert [product_id(e["node"]["id"]) for e in explicit.data["products"]["edges"]] == expected


async def test_search_sorted_by_price_pages_in_price_order(api: Api) -> None:
    sort = {"field": "PRICE", "direction": "DESC"}
    walked = await found(api, "oak", sortBy=sort)
    assert set(walked) == set(await found(api, "oak"))


def _bucket(price: Decimal) -> int:
    return next((i for i, edge in enumerate(EDGES) if price < edge), len(EDGES))


def _expected_facets(
    oracle: Oracle, matched: list[int], flt: dict[str, Any]
) -> tuple[dict[Any, int], ...]:
    products = [oracle.products[pid] for pid in matched]
    scope = oracle.subtree(product_id_of(flt["categoryId"])) if "categoryId" in flt else None

    def keep(p: dict[str, Any], *, category: bool, price: bool, stock: bool) -> bool:
        if category and scope is not None and p["category_id"] not in scope:
            return False
        if price and "minPrice" in flt and p["min_price"] < Decimal(flt["minPrice"]):
            return False
        if price and "maxPrice" in flt and p["min_price"] > Decimal(flt["maxPrice"]):
            return False
        return not (stock and "inStock" in flt and p["in_stock"] is not flt["inStock"])

    categories = Counter(
        p["category_id"] for p in products if keep(p, category=False, price=True, stock=True)
    )
    buckets = Counter(
        _bucket(p["min_price"]) for p in products if keep(p, category=True, price=False, stock=True)
    )
    stock = Counter(
        p["in_stock"] for p in products if keep(p, category=True, price=True, stock=False)
    )
    options: Counter[tuple[str, str]] = Counter()
    for p in products:
        if keep(p, category=True, price=True, stock=True):
            pairs = {
                (o["name"], o["value"])
                for v in _variants(oracle, p["id"])
                for o in v["selected_options"]
            }
            options.update(pairs)
    return dict(categories), dict(buckets), dict(stock), dict(options)


def product_id_of(category_global_id: str) -> int:
    return ids.decode_as(category_global_id, "Category")


def _actual_facets(facets: dict[str, Any]) -> tuple[dict[Any, int], ...]:
    categories = {product_id_of(c["category"]["id"]): c["count"] for c in facets["categories"]}
    buckets = {_bucket(Decimal(b["min"])): b["count"] for b in facets["priceBuckets"]}
    stock = {s["value"]: s["count"] for s in facets["inStock"]}
    options = {(o["name"], v["value"]): v["count"] for o in facets["options"] for v in o["values"]}
    return categories, buckets, stock, options


def _random_filter(rng: random.Random) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if rng.random() < 0.5:
        flt["categoryId"] = ids.encode("Category", rng.randint(1, 50))
    if rng.random() < 0.5:
        flt["minPrice"] = str(rng.choice((10, 100, 300)))
    if rng.random() < 0.4:
        flt["maxPrice"] = str(rng.choice((200, 600, 900)))
    if rng.random() < 0.5:
        flt["inStock"] = rng.random() < 0.7
    return flt


SEARCH_WORDS = [*ADJECTIVES, *MATERIALS, *TREE, "lap", "sho", "oak steel", "cozy or bold", "-oak"]


async def test_facets_count_what_brute_force_counts(
    api: Api, client: httpx.AsyncClient, settings: Settings, oracle: Oracle
) -> None:
    editor = Api(client, token(settings, Role.EDITOR))
    rng = random.Random(2026)
    for _ in range(20):
        text = rng.choice(SEARCH_WORDS)
        flt = _random_filter(rng)
        matches: dict[str, set[int]] = {}
        for viewer, who in ((api, "anonymous"), (editor, "editor")):
            matched = await found(viewer, text)
            result = (await viewer.query(FACETS, {"search": text, "filter": flt})).data["products"]
            expected = _expected_facets(oracle, matched, flt)
            assert _actual_facets(result["facets"]) == expected, (text, flt, who)
            assert result["totalCount"] == len(await found(viewer, text, filter=flt))
            matches[who] = set(matched)
        # Both counted right from their own matches, which differ exactly by the drafts.
        assert all(oracle.public(oracle.products[p]) for p in matches["anonymous"])
        drafts = {p for p in matches["editor"] if not oracle.public(oracle.products[p])}
        assert matches["editor"] - matches["anonymous"] == drafts
        assert matches["anonymous"] <= matches["editor"]


async def test_statements_with_facets_are_few_and_constant_in_page_size(api: Api) -> None:
    counts = set()
    for first in (5, 50):
        for text in ("oak", "dumbel"):
            result = await api.query(FACETS, {"search": text, "first": first})
            counts.add(result.sql)
    assert counts == {3}
    plain = await api.query(SEARCH, {"search": "cozy oak", "first": 20})
    assert plain.sql == 1


BAD = [
    '"',
    '""',
    "-",
    "--oak",
    "or",
    "oak or",
    '"unclosed',
    "a & b | !c",
    "NEAR(oak steel)",
    "oak*",
    "*",
    "(oak",
    "'",
    "\\",
    "title:oak",
    "^oak",
    "ünïcödé 漢字",
    "🙂",
    "AND OR NOT",
]


async def test_operators_and_quotes_never_raise(api: Api) -> None:
    for text in BAD:
        result = await api.query(SEARCH, {"search": text, "first": 3})
        assert result.errors == [], (text, result.errors)


async def test_blank_search_is_no_search_and_long_search_is_bad_input(api: Api) -> None:
    plain = (await api.query(SEARCH, {"first": 5})).data["products"]
    for blank in ("", "   ", "\t\n", "!!!", "-"):
        assert (await api.query(SEARCH, {"search": blank, "first": 5})).data["products"] == plain
    long = await api.query(SEARCH, {"search": "a" * 201})
    assert long.codes == ["BAD_USER_INPUT"]
    nul = await api.query(SEARCH, {"search": "oak\x00"})
    assert nul.codes == ["BAD_USER_INPUT"]
    name_cursor = plain["pageInfo"]["endCursor"]
    other_sort = await api.query(SEARCH, {"search": "oak", "after": name_cursor})
    assert other_sort.codes == ["BAD_USER_INPUT"]
    descending = {"field": "RELEVANCE", "direction": "DESC"}
    assert (await api.query(SEARCH, {"search": "oak", "sortBy": descending})).codes == [
        "BAD_USER_INPUT"
    ]


async def test_suggestions_offer_categories_then_product_names(api: Api) -> None:
    document = """query($prefix: String!) { searchSuggestions(prefix: $prefix, first: 8) {
      text kind id } }"""
    found_ = (await api.query(document, {"prefix": "lap"})).data["searchSuggestions"]
    kinds = [s["kind"] for s in found_]
    assert kinds == sorted(kinds)
    assert kinds[0] == "CATEGORY"
    assert "PRODUCT" in kinds
    assert all("lap" in s["text"].lower() for s in found_)
    assert (await api.query(document, {"prefix": " "})).data["searchSuggestions"] == []


async def test_category_products_search_within_the_category(api: Api, oracle: Oracle) -> None:
    document = """query($slug: String!, $search: String) { category(slug: $slug) {
      products(search: $search, first: 100) { totalCount edges { node { id } } } } }"""
    category = oracle.category_by_slug("electronics")
    result = (await api.query(document, {"slug": "electronics", "search": "oak"})).data
    within = {product_id(e["node"]["id"]) for e in result["category"]["products"]["edges"]}
    everywhere = set(await found(api, "oak"))
    in_category = {p["id"] for p in oracle.products_in(category["id"])}
    assert within == everywhere & in_category


async def test_postgresql_reads_the_gin_index(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's plan")
    engine = create_engine(settings)
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with AsyncSession(engine) as session:
            search = search_queries.Search(parse("classic oak"), ProductFilter())
            window = PageWindow(first=10, with_total=True)
            await search_queries.search_page(
                session=session, search=search, sort=None, window=window
            )
            statement, params = sent[-1]
            connection = await session.connection()
            plan = await connection.exec_driver_sql("EXPLAIN " + statement, params)
            lines = [row[0] for row in plan]
    finally:
        await engine.dispose()
    assert any("ix_product_search_document" in line for line in lines), "\n".join(lines)


WRITE_SEARCH = """query($search: String) { products(search: $search, first: 10) {
  totalCount edges { node { id } } } }"""


async def _made(api: Api, document: str, variables: dict[str, Any], field: str, key: str) -> str:
    payload = (await api.query(document, variables)).data[field]
    assert payload["userErrors"] == [], payload
    return str(payload[key]["id"])


async def _ids(api: Api, text: str, typename: bool = False) -> tuple[list[str], int]:
    document = (
        WRITE_SEARCH.replace("totalCount", "totalCount __typename") if typename else WRITE_SEARCH
    )
    result = await api.query(document, {"search": text})
    return [e["node"]["id"] for e in result.data["products"]["edges"]], result.sql


async def test_writes_keep_search_right_and_purge_cached_searches(
    anonymous: Api, editor: Api, admin: Api
) -> None:
    category = await _made(
        admin,
        "mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) {"
        " category { id } userErrors { message } } }",
        {
            "input": {
                "slug": "zither-shelf",
                "name": "Zither Shelf",
                "parentId": ids.encode("Category", 1),
            }
        },
        "categoryCreate",
        "category",
    )
    product = await _made(
        editor,
        "mutation($input: ProductCreateInput!) { productCreate(input: $input) {"
        " product { id } userErrors { message } } }",
        {
            "input": {
                "slug": "xylo-1",
                "name": "Xylophone Stand",
                "categoryId": category,
                "status": "ACTIVE",
            }
        },
        "productCreate",
        "product",
    )
    assert await _ids(anonymous, "xylophone") == ([product], 1)
    assert await _ids(anonymous, "xylophone", typename=True) == ([product], 0)  # the cached page
    assert (await _ids(anonymous, "zither"))[0] == [product]
    await _made(
        admin,
        'mutation($id: ID!) { categoryUpdate(id: $id, input: {name: "Harp Rack"}) {'
        " category { id } userErrors { message } } }",
        {"id": category},
        "categoryUpdate",
        "category",
    )
    assert (await _ids(anonymous, "zither"))[0] == []
    assert (await _ids(anonymous, "harp rack"))[0] == [product]
    await _made(
        editor,
        "mutation($product: ID!, $input: VariantCreateInput!) { variantCreate(productId: $product,"
        " input: $input) { variant { id } userErrors { message } } }",
        {"product": product, "input": {"sku": "QZ-991-XL", "name": "XL", "price": "12.50"}},
        "variantCreate",
        "variant",
    )
    assert (await _ids(anonymous, "qz-991-xl"))[0] == [product]
    await editor.query(
        'mutation($id: ID!) { productUpdate(id: $id, input: {name: "Marimba Stand"}) {'
        " product { id } } }",
        {"id": product},
    )
    assert (await _ids(anonymous, "xylophone", typename=True))[0] == []
    assert (await _ids(anonymous, "marimba"))[0] == [product]


async def test_a_variant_renamed_in_place_keeps_its_product_findable(editor: Api) -> None:
    """Its update names the same product twice (before and after): one refresh, no conflict."""
    product = await _made(
        editor,
        "mutation($input: ProductCreateInput!) { productCreate(input: $input) {"
        " product { id } userErrors { message } } }",
        {
            "input": {
                "slug": "ocarina-1",
                "name": "Ocarina",
                "categoryId": ids.encode("Category", 11),
            }
        },
        "productCreate",
        "product",
    )
    variant = await _made(
        editor,
        "mutation($product: ID!, $input: VariantCreateInput!) { variantCreate(productId: $product,"
        " input: $input) { variant { id } userErrors { message } } }",
        {"product": product, "input": {"sku": "OC-1", "name": "One", "price": "5"}},
        "variantCreate",
        "variant",
    )
    await _made(
        editor,
        'mutation($id: ID!) { variantUpdate(id: $id, input: {sku: "OC-2"}) {'
        " variant { id } userErrors { message } } }",
        {"id": variant},
        "variantUpdate",
        "variant",
    )
    assert (await _ids(editor, "oc-2"))[0] == [product]
    assert (await _ids(editor, "oc-1"))[0] == []
