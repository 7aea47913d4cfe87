"""The benchmark workloads return the right data within their SQL statement budgets."""

import asyncio
from typing import Any

import pytest

from db.engine import create_engine, read_sessions
from db.global_ids import encode
from db.queries.products import products_with_categories_by_slugs
from graph.settings import Settings
from tests.support import Api, Oracle, workload

# W1 and P1: the product, its category and breadcrumbs are one statement (planned executor).
BUDGETS = {"W1": 3, "P1": 1, "W2": 5, "W3": 4, "W4": 5, "S2": 2, "S3": 3}


def first_public_slug(oracle: Oracle) -> str:
    return str(next(p["slug"] for p in oracle.catalog.products if oracle.public(p)))


async def test_w1_product_detail(api: Api, oracle: Oracle) -> None:
    slug = first_public_slug(oracle)
    expected = oracle.by_slug(slug)
    result = await api.query(workload("W1"), {"slug": slug})
    product = result.data["product"]
    assert product["name"] == expected["name"]
    assert product["priceRange"]["min"] == {"amount": str(expected["min_price"]), "currency": "USD"}
    assert product["priceRange"]["max"]["amount"] == str(expected["max_price"])
    category = oracle.categories[expected["category_id"]]
    assert product["category"]["slug"] == category["slug"]
    assert [a["slug"] for a in product["category"]["ancestors"]] == [
        oracle.categories[int(i)]["slug"] for i in category["path"].strip("/").split("/")[:-1]
    ]
    variants = [v for v in oracle.catalog.variants if v["product_id"] == expected["id"]]
    assert [v["sku"] for v in product["variants"]] == [v["sku"] for v in variants]
    assert [v["price"]["amount"] for v in product["variants"]] == [
        str(v["price"]) for v in variants
    ]
    assert product["variants"][0]["selectedOptions"][1]["name"] == "Size"
    images = [i for i in oracle.catalog.images if i["product_id"] == expected["id"]]
    assert [i["url"] for i in product["images"]] == [i["url"] for i in images]
    assert product["updatedAt"].endswith("Z")
    assert result.sql <= BUDGETS["W1"]


async def test_p1_product_card_is_one_statement(api: Api, oracle: Oracle) -> None:
    # The last public product: one no other test asks for, so neither cache holds it.
    expected = [p for p in oracle.catalog.products if oracle.public(p)][-1]
    category = oracle.categories[expected["category_id"]]
    result = await api.query(workload("P1"), {"slug": expected["slug"]})
    assert result.data["product"] == {
        "id": encode("Product", expected["id"]),
        "name": expected["name"],
        "slug": expected["slug"],
        "priceRange": {"min": {"amount": str(expected["min_price"]), "currency": "USD"}},
        "category": {"id": encode("Category", category["id"]), "name": category["name"]},
    }
    assert result.sql == BUDGETS["P1"]


@pytest.mark.parametrize("slug", ["electronics", "laptops"])
async def test_w2_category_page(api: Api, oracle: Oracle, slug: str) -> None:
    category = oracle.category_by_slug(slug)
    result = await api.query(workload("W2"), {"slug": slug})
    data = result.data["category"]
    in_stock = [p for p in oracle.products_in(category["id"]) if p["in_stock"]]
    expected = sorted(in_stock, key=lambda p: (p["min_price"], p["id"]))
    page = data["products"]
    assert page["totalCount"] == len(expected)
    assert [e["node"]["slug"] for e in page["edges"]] == [p["slug"] for p in expected[:48]]
    assert page["pageInfo"]["hasNextPage"] == (len(expected) > 48)
    assert all(len(e["node"]["images"]) == 1 for e in page["edges"])
    children = [c for c in oracle.catalog.categories if c["parent_id"] == category["id"]]
    assert [c["slug"] for c in data["children"]] == [c["slug"] for c in children]
    assert [c["productCount"] for c in data["children"]] == [
        len(oracle.products_in(c["id"])) for c in children
    ]
    assert result.sql <= BUDGETS["W2"]


async def test_w3_catalog_tree(api: Api, oracle: Oracle) -> None:
    result = await api.query(workload("W3"))
    edges = result.data["categories"]["edges"]
    ordered = sorted(
        oracle.catalog.categories, key=lambda c: (c["level"], c["position"], c["name"])
    )
    assert [e["node"]["slug"] for e in edges] == [c["slug"] for c in ordered[:20]]
    for edge in edges:
        category = oracle.category_by_slug(edge["node"]["slug"])
        products = edge["node"]["products"]["edges"]
        assert len(products) == 10
        leaves = oracle.subtree(category["id"])
        for product in products:
            assert oracle.by_slug(product["node"]["slug"])["category_id"] in leaves
            assert product["node"]["category"]["name"]
        # The same first page through another statement: the single-list one.
        alone = await api.query(
            "query($c: ID) { products(first: 10, filter: {categoryId: $c}) "
            "{ edges { node { slug } } } }",
            {"c": edge["node"]["id"]},
        )
        expected = [e["node"]["slug"] for e in alone.data["products"]["edges"]]
        assert [p["node"]["slug"] for p in products] == expected
    assert result.sql <= BUDGETS["W3"]


async def test_w3_statements_do_not_grow_with_page_size(api: Api, oracle: Oracle) -> None:
    counts = []
    for size in (5, 50):
        result = await api.query(
            workload("W3").replace("products(first: 10)", f"products(first: {size})")
        )
        for edge in result.data["categories"]["edges"]:
            available = len(oracle.products_in(oracle.category_by_slug(edge["node"]["slug"])["id"]))
            assert len(edge["node"]["products"]["edges"]) == min(size, available)
        counts.append(result.sql)
    assert counts[0] == counts[1] <= BUDGETS["W3"]


async def test_a_product_page_brings_its_variants_and_images_with_the_product_on_postgresql(
    api: Api, oracle: Oracle, database_url: str
) -> None:
    """W1: the product, its category, breadcrumbs, variants and images are one statement on
    PostgreSQL (SQLite has no JSON aggregate of ours: the variants and the images are a
    statement each)."""
    # A product no other test here looks up by slug, so no cache holds it.
    expected = [p for p in oracle.catalog.products if oracle.public(p)][-25]
    result = await api.query(workload("W1"), {"slug": expected["slug"]})
    variants = [v for v in oracle.catalog.variants if v["product_id"] == expected["id"]]
    shown = result.data["product"]["variants"]
    assert [(v["sku"], v["price"]["amount"], v["quantityAvailable"]) for v in shown] == [
        (v["sku"], str(v["price"]), v["quantity"]) for v in variants
    ]
    assert [v["selectedOptions"] for v in shown] == [v["selected_options"] for v in variants]
    images = sorted(
        (i for i in oracle.catalog.images if i["product_id"] == expected["id"]),
        key=lambda i: (i["position"], i["id"]),
    )
    assert len(images) > 1
    assert result.data["product"]["images"] == [
        {"url": i["url"], "alt": i["alt"], "width": i["width"], "height": i["height"]}
        for i in images
    ]
    assert result.sql == (1 if database_url.startswith("postgresql") else 3)


async def test_a_product_page_shows_as_many_images_as_each_field_asks(
    api: Api, oracle: Oracle, database_url: str
) -> None:
    """The statement brings a product's first 20 images; fields that ask fewer show fewer,
    in order, and ask nothing more of the database."""
    expected = [p for p in oracle.catalog.products if oracle.public(p)][-26]
    images = sorted(
        (i for i in oracle.catalog.images if i["product_id"] == expected["id"]),
        key=lambda i: (i["position"], i["id"]),
    )
    assert len(images) > 1
    result = await api.query(
        "query($slug: String!) { product(slug: $slug) { "
        "first: images(first: 1) { url } all: images { url } none: images(first: 0) { url } } }",
        {"slug": expected["slug"]},
    )
    assert result.data["product"] == {
        "first": [{"url": images[0]["url"]}],
        "all": [{"url": i["url"]} for i in images],
        "none": [],
    }
    # SQLite: the product, then each count of images its own statement.
    assert result.sql == (1 if database_url.startswith("postgresql") else 3)


async def test_many_product_cards_with_breadcrumbs_are_still_one_statement(
    api: Api, oracle: Oracle
) -> None:
    """Aliased lookups by slug, some of one category, one unknown: a statement for all of them,
    their categories and ancestors, whatever their number."""
    public = [p for p in oracle.catalog.products if oracle.public(p)][
        -19:
    ]  # 20 root fields at most
    slugs = [p["slug"] for p in public] + ["no-such-product"]
    fields = "name category { slug ancestors { slug } }"
    document = (
        "{ "
        + " ".join(f'p{i}: product(slug: "{s}") {{ {fields} }}' for i, s in enumerate(slugs))
        + " }"
    )
    result = await api.query(document)
    for i, expected in enumerate(public):
        category = oracle.categories[expected["category_id"]]
        ancestors = [int(a) for a in category["path"].strip("/").split("/")[:-1]]
        assert result.data[f"p{i}"] == {
            "name": expected["name"],
            "category": {
                "slug": category["slug"],
                "ancestors": [{"slug": oracle.categories[a]["slug"]} for a in ancestors],
            },
        }
    assert result.data[f"p{len(public)}"] is None
    assert result.sql == 1


def _deepest_public(oracle: Oracle) -> tuple[dict[str, Any], list[int]]:
    """A public product whose category has the most ancestors, and the category's path."""
    public = [p for p in oracle.catalog.products if oracle.public(p)]

    def path(product: dict[str, Any]) -> list[int]:
        category = oracle.categories[product["category_id"]]
        return [int(i) for i in category["path"].strip("/").split("/")]

    product = max(public, key=lambda p: len(path(p)))
    return product, path(product)


@pytest.mark.parametrize("shown", ["parent { slug }", "ancestors { slug }"])
async def test_a_product_card_shows_its_categorys_parent_or_ancestors_from_one_statement(
    api: Api, oracle: Oracle, shown: str
) -> None:
    product, path = _deepest_public(oracle)
    assert len(path) >= 3  # the seeded catalog has three levels
    document = f"query($slug: String!) {{ product(slug: $slug) {{ category {{ slug {shown} }} }} }}"
    result = await api.query(document, {"slug": product["slug"]})
    slugs = [oracle.categories[i]["slug"] for i in path]
    expected = (
        {"parent": {"slug": slugs[-2]}}
        if shown.startswith("parent")
        else {"ancestors": [{"slug": s} for s in slugs[:-1]]}
    )
    assert result.data["product"] == {"category": {"slug": slugs[-1], **expected}}
    assert result.sql == 1


async def test_a_parent_asked_through_a_fragment_still_comes_with_the_product(
    api: Api, oracle: Oracle
) -> None:
    product, path = _deepest_public(oracle)
    document = (
        "query($slug: String!) { product(slug: $slug) { name category { ...Up } } }"
        " fragment Up on Category { slug parent { slug } }"
    )
    result = await api.query(document, {"slug": product["slug"]})
    slugs = [oracle.categories[i]["slug"] for i in path]
    assert result.data["product"]["category"] == {"slug": slugs[-1], "parent": {"slug": slugs[-2]}}
    assert result.sql == 1


async def test_one_product_looked_up_with_and_without_its_breadcrumbs_agrees_with_itself(
    api: Api, oracle: Oracle
) -> None:
    """Two aliases of one slug, one showing the ancestors: two statements (two loaders), each
    answer right, the category the same object in both."""
    product, path = _deepest_public(oracle)
    document = (
        "query($slug: String!) { card: product(slug: $slug) { name category { id name } }"
        " page: product(slug: $slug) { name category { id name ancestors { slug } } } }"
    )
    result = await api.query(document, {"slug": product["slug"]})
    category = oracle.categories[path[-1]]
    card, page = result.data["card"], result.data["page"]
    assert card["name"] == page["name"] == product["name"]
    assert card["category"] == {"id": encode("Category", category["id"]), "name": category["name"]}
    assert page["category"]["name"] == category["name"]
    assert [a["slug"] for a in page["category"]["ancestors"]] == [
        oracle.categories[i]["slug"] for i in path[:-1]
    ]
    assert result.sql == 2


async def test_a_lookup_by_slug_reads_the_categorys_ancestors_only_when_asked(
    settings: Settings, oracle: Oracle
) -> None:
    """A product card shows its category, not the breadcrumbs: a row for the category alone,
    not one per ancestor (the planned executor asks for them when `parent` or `ancestors` of
    the category is selected)."""
    product, path = _deepest_public(oracle)
    engine = create_engine(settings)
    reads = read_sessions(engine)
    try:
        async with reads() as session:
            alone, full = [
                await products_with_categories_by_slugs(
                    session=session,  # type: ignore[arg-type]  # a ReadConnection offers what it uses
                    slugs=[product["slug"]],
                    with_ancestors=ancestors,
                )
                for ancestors in (False, True)
            ]
    finally:
        await engine.dispose()
    assert [p.id for p in alone.products] == [p.id for p in full.products] == [product["id"]]
    assert [c.id for c in alone.categories] == [path[-1]]
    assert sorted(c.id for c in full.categories) == sorted(path)


async def test_w4_next_page_continues_w2(api: Api, oracle: Oracle) -> None:
    first = (await api.query(workload("W2"), {"slug": "electronics"})).data
    after = first["category"]["products"]["pageInfo"]["endCursor"]
    result = await api.query(workload("W4"), {"slug": "electronics", "after": after})
    page: dict[str, Any] = result.data["category"]["products"]
    category = oracle.category_by_slug("electronics")
    in_stock = [p for p in oracle.products_in(category["id"]) if p["in_stock"]]
    expected = sorted(in_stock, key=lambda p: (p["min_price"], p["id"]))
    assert [e["node"]["slug"] for e in page["edges"]] == [p["slug"] for p in expected[48:96]]
    assert page["pageInfo"]["hasPreviousPage"] is True
    assert page["pageInfo"]["hasNextPage"] == (len(expected) > 96)
    assert result.sql <= BUDGETS["W4"]


async def test_s2_search_finds_by_name_within_budget(api: Api, oracle: Oracle) -> None:
    product = oracle.by_slug(first_public_slug(oracle))
    result = await api.query(workload("S2"), {"search": product["name"]})
    page = result.data["products"]
    assert product["name"] in [e["node"]["name"] for e in page["edges"]]
    assert all(len(e["node"]["images"]) == 1 for e in page["edges"])
    assert result.sql <= BUDGETS["S2"]


async def test_s3_facets_within_budget(api: Api, oracle: Oracle) -> None:
    for variables in ({"search": "oak"}, {"search": "lap", "filter": {"inStock": True}}):
        result = await api.query(workload("S3"), variables)
        data = result.data["products"]
        listed = sum(c["count"] for c in data["facets"]["categories"])
        assert listed == data["totalCount"]
        assert result.sql <= BUDGETS["S3"]


async def test_lookups_alone_at_the_root_answer_as_in_company(api: Api, oracle: Oracle) -> None:
    """A root lookup alone in its operation loads its key in the run's own task; it answers
    as the same lookups beside another root field do (loaded through the loaders' batches)."""
    product = [p for p in oracle.catalog.products if oracle.public(p)][-2]
    category = oracle.categories[product["category_id"]]
    product_id, category_id = encode("Product", product["id"]), encode("Category", category["id"])
    lookups = [
        (f'product(slug: "{product["slug"]}") {{ name }}', {"name": product["name"]}),
        (f'product(id: "{product_id}") {{ slug }}', {"slug": product["slug"]}),
        (f'category(slug: "{category["slug"]}") {{ name }}', {"name": category["name"]}),
        (f'category(id: "{category_id}") {{ slug }}', {"slug": category["slug"]}),
        ('product(slug: "no-such-product") { name }', None),
        (f'category(id: "{encode("Category", 999_999)}") {{ name }}', None),
    ]
    for field, expected in lookups:
        alone = await api.query(f"{{ only: {field} }}")
        beside = await api.query(f"{{ only: {field} other: __typename }}")
        together = await api.query(f"{{ only: {field} again: {field} }}")
        assert alone.data == {"only": expected}, field
        assert beside.data == {"only": expected, "other": "Query"}, field
        assert together.data == {"only": expected, "again": expected}, field
        assert alone.sql <= together.sql <= 2, field


async def test_concurrent_cards_with_ever_new_slugs_each_get_their_own_product(
    api: Api, oracle: Oracle
) -> None:
    """Hostile to the arguments a field keeps bound per variable values (at most 64 sets): 150
    product cards at once, each its own slug (some no product has), so the kept sets are
    cleared while other requests still hold theirs; each answer is its own slug's."""
    public = [p for p in oracle.catalog.products if oracle.public(p)]
    slugs = [p["slug"] for p in public[:120]] + [f"no-such-product-{i}" for i in range(30)]
    results = await asyncio.gather(*(api.query(workload("P1"), {"slug": s}) for s in slugs))
    for slug, result in zip(slugs, results, strict=True):
        product = result.data["product"]
        if slug.startswith("no-such-product"):
            assert product is None
        else:
            assert product["slug"] == slug
            assert product["name"] == oracle.by_slug(slug)["name"]
