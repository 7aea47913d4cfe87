"""The planned executor answers exactly as graphql-core does: the same data and the same errors
(paths, codes, messages, locations) for the workloads, hand-written documents that reach every
planned field (Federation's `_entities` among them), fragments, aliases, @skip/@include and
errors, and 2,000 documents generated from the schema by hypothesis-graphql; for an anonymous
viewer and an editor, on both backends."""

import asyncio
import hashlib
import importlib.metadata
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes as gql_nodes
from hypothesis_graphql import queries

from graph.execution.executor import Executor
from graph.execution.plan import Compiler
from graph.schema import build_schema, public_sdl
from graph.settings import Settings
from graph.state import GatewayState
from graph.viewer import ANONYMOUS, Role, Viewer
from tests.celery_support import ROOT
from tests.support import Oracle, workload

GENERATED = 2_000
CORPUS_DIR = ROOT / "var" / "test-corpus"
EDITOR = Viewer(role=Role.EDITOR, subject="differential")

HANDWRITTEN = [
    "{ __typename products(first: 3) { __typename totalCount edges { cursor node { id } } } }",
    """query($s: String!) { a: product(slug: $s) { ...P b: name } p: product(slug: $s) { id } }
       fragment P on Product { id slug name description status isAvailable createdAt updatedAt
         priceRange { min { amount currency } max { amount currency } }
         category { id slug name level description parent { id } ancestors { id name }
                    children { id productCount } productCount createdAt updatedAt }
         variants { id sku name selectedOptions { name value } price { amount currency }
                    compareAtPrice { amount currency } quantityAvailable availableForSale
                    product { id name } }
         images { id url alt width height } img: images(first: 1) { url } viewCount }""",
    """query($c: String!, $yes: Boolean!, $no: Boolean!) { category(slug: $c) {
         name @include(if: $yes) slug @skip(if: $yes) level @include(if: $no)
         ... on Category @include(if: $yes) { id }
         products(first: 5, sortBy: {field: PRICE, direction: DESC}, filter: {inStock: true}) {
           pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
           edges { node { name priceRange { min { amount } } } } }
         last: products(last: 3, includeSubcategories: false) { edges { cursor node { slug } } }
       } }""",
    """{ categories(first: 7, rootsOnly: true) { totalCount edges { node { name
         children { name children { name products(first: 2) { totalCount edges { node { name } } }
       } } } } } }""",
    "{ categories(first: 100) { edges { node { slug parent { slug } } } } }",
    """query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Product { name }
         ... on Category { slug } ... on ProductVariant { sku product { name } }
         ... on ProductImage { url } } }""",
    '{ node(id: "UHJvZHVjdDox") { id ... on Product { name status } } }',
    '{ node(id: "bm90IGFuIGlk") { id } }',
    '{ product(id: "Q2F0ZWdvcnk6MQ==") { id } }',
    '{ product(slug: "no-such-product") { id } }',
    "{ product { id } }",
    "{ products(first: 101) { totalCount } }",
    '{ products(after: "garbage") { totalCount } }',
    "{ products(first: 2, last: 2) { totalCount } }",
    """{ ok: products(first: 1) { edges { node { name } } }
         bad: products(first: -1) { edges { node { name } } } }""",
    '{ products(first: 3, filter: {minPrice: "10", maxPrice: "200.5"}) { edges { node { id } } } }',
    "{ products(first: 3, filter: {status: [DRAFT]}) { totalCount edges { node { status } } } }",
    "{ products(first: 2) { edges { node { images(first: 21) { url } } } } }",
    '{ category(id: "Q2F0ZWdvcnk6MQ==", slug: "x") { id } }',
    '{ category(slug: "electronics") { products(first: 2, after: "bm9wZQ==") { totalCount } } }',
    """query($reps: [_Any!]!) { _entities(representations: $reps) { __typename
         ... on Product { id name priceRange { min { amount } } category { slug } }
         ... on ProductVariant { sku price { amount } product { name status } }
         ... on Category { name parent { slug } } } }""",
    """{ products(search: "cozy oak", first: 5) { totalCount pageInfo { hasNextPage endCursor }
         edges { cursor node { name } } } }""",
    """{ products(search: "dumbel -oak", first: 3, filter: {inStock: true},
         sortBy: {field: PRICE, direction: DESC}) { edges { cursor node { name } } } }""",
    """{ category(slug: "electronics") { a: products(search: "oak", first: 3) {
         totalCount edges { cursor node { name } } }
         b: products(search: "lap", includeSubcategories: false) { totalCount } } }""",
    '{ products(search: "  ", first: 2, sortBy: {field: RELEVANCE}) { edges { node { name } } } }',
    """{ products(search: "cozy", first: 2, filter: {inStock: true, maxPrice: "400"}) {
         edges { node { name } } facets { categories { count category { id name slug } }
         priceBuckets { min max count } inStock { value count }
         options { name values { value count } } } } }""",
    """{ category(slug: "electronics") { products(first: 1, includeSubcategories: false) {
         facets { inStock { value count } } }
         s: products(search: "oak", first: 1) { facets { priceBuckets { min count } } } } }""",
    '{ searchSuggestions(prefix: "lap", first: 5) { text kind id } }',
    """{ a: searchSuggestions(prefix: "") { text }
         b: searchSuggestions(prefix: "x", first: 21) { id } }""",
    f'{{ products(search: "{"x" * 201}") {{ totalCount }} }}',
    '{ products(search: "oak", sortBy: {field: RELEVANCE, direction: DESC}) { totalCount } }',
    """{ _entities(representations: [{__typename: "Category", slug: "electronics"},
         {__typename: "Nope", id: 1}, {__typename: "Category", id: "UHJvZHVjdDox"}])
         { ... on Category { name } } }""",
]


def _handwritten_variables(oracle: Oracle) -> dict[str, Any]:
    product = next(p for p in oracle.catalog.products if oracle.public(p))
    draft = next(p for p in oracle.catalog.products if not oracle.public(p))
    variant = next(v for v in oracle.catalog.variants if v["product_id"] == product["id"])
    image = next(i for i in oracle.catalog.images if i["product_id"] == product["id"])
    from db.global_ids import encode

    return {
        "s": product["slug"],
        "c": "electronics",
        "yes": True,
        "no": False,
        "ids": [
            encode("Product", product["id"]),
            encode("Product", draft["id"]),
            encode("Category", 1),
            encode("ProductVariant", variant["id"]),
            encode("ProductImage", image["id"]),
            encode("Job", 1),
            encode("Product", 10**9),
        ],
        "reps": [
            {"__typename": "Product", "id": encode("Product", product["id"])},
            {"__typename": "Product", "slug": draft["slug"]},
            {"__typename": "ProductVariant", "sku": variant["sku"]},
            {"__typename": "ProductVariant", "id": encode("ProductVariant", variant["id"])},
            {"__typename": "Category", "id": encode("Category", 3)},
            {"__typename": "Category"},
            {"__typename": "Product", "slug": "no-such-product"},
        ],
    }


def _scalars() -> dict[str, st.SearchStrategy[Any]]:
    decimals = st.decimals(min_value=-5, max_value=500, places=2, allow_nan=False)
    return {
        "Decimal": decimals.map(lambda d: gql_nodes.String(str(d))),
        "DateTime": st.just(gql_nodes.String("2026-01-31T12:00:00Z")),
    }


def generated_documents(count: int) -> list[str]:
    """`count` documents from hypothesis-graphql, the same ones on every run. Drawing them costs
    about 25 ms each, so they are kept under var/ for this schema and library version."""
    schema = public_sdl()
    version = importlib.metadata.version("hypothesis-graphql")
    key = hashlib.sha256(f"{version}\n{count}\n{schema}".encode()).hexdigest()[:16]
    corpus = CORPUS_DIR / f"hypothesis-graphql-{key}.json"
    if corpus.exists():
        return list(json.loads(corpus.read_text()))
    found: list[str] = []
    fields = ["node", "nodes", "product", "products", "category", "categories"]

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(schema, fields=fields, custom_scalars=_scalars(), allow_x00=False))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text(json.dumps(found))
    return found


Result = tuple[Any, list[dict[str, Any]]]


def _is_null_at_or_above(data: Any, path: list[str | int]) -> bool:
    """Whether some proper prefix of `path` is null in `data` (or `data` is null)."""
    value = data
    for segment in path[:-1]:
        if value is None:
            return True
        try:
            value = value[segment]
        except (KeyError, IndexError, TypeError):
            return False
    return value is None


def disagreement(planned: Result, core: Result) -> str | None:
    """Why the two results differ, or None. The data must be equal and every graphql-core error
    reported; the planned executor may report more errors, but only below a null that ended
    graphql-core's completion of that subtree (it stops completing a list once an item has made
    it null; the spec asks for every raised error)."""
    if planned[0] != core[0]:
        return "data differ"
    mine = {json.dumps(e, sort_keys=True) for e in planned[1]}
    theirs = {json.dumps(e, sort_keys=True) for e in core[1]}
    if theirs - mine:
        return f"errors missing: {sorted(theirs - mine)[:2]}"
    extra = [json.loads(e) for e in mine - theirs]
    unexplained = [e for e in extra if not _is_null_at_or_above(core[0], e.get("path", []))]
    return f"errors not below a null: {unexplained[:2]}" if unexplained else None


async def both(
    state: GatewayState,
    planned: Executor,
    core: Executor,
    text: str,
    variables: dict[str, Any],
    viewer: Viewer,
) -> tuple[Result, Result] | None:
    prepared = state.documents.prepare_now(text)
    if not prepared.valid or prepared.document is None:
        return None
    results: list[Result] = []
    for executor in (planned, core):
        executed = await executor.execute(
            prepared.document,
            variables=variables,
            operation_name=None,
            context=state.context(viewer),
            prepared=prepared,
        )
        results.append((executed.data if executed.started else None, executed.errors))
    return results[0], results[1]


@pytest.fixture
def executors(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[GatewayState, Executor, Executor]:
    state: GatewayState = client._transport.app.state.gateway  # type: ignore[attr-defined]
    strawberry_schema = build_schema()
    schema = strawberry_schema._schema
    converter = strawberry_schema.schema_converter
    compiler = Compiler(schema, converter.scalar_registry, strawberry_schema.config)
    planned = Executor(schema, state.executor.budgets, state.executor.policy, compiler)
    core = Executor(schema, state.executor.budgets, state.executor.policy, None)
    return state, planned, core


async def test_handwritten_and_workload_documents_agree(
    executors: tuple[GatewayState, Executor, Executor], oracle: Oracle
) -> None:
    state, planned, core = executors
    common = _handwritten_variables(oracle)
    leaf = next(c["slug"] for c in oracle.catalog.categories if c["level"] == 2)
    documents = [(text, common) for text in HANDWRITTEN] + [
        (workload("W1"), {"slug": common["s"]}),
        (workload("P1"), {"slug": common["s"]}),
        (workload("W2"), {"slug": "electronics"}),
        (workload("P2"), {"slug": leaf}),
        (workload("W3"), {}),
    ]
    compared = 0
    for text, variables in documents:
        for viewer in (ANONYMOUS, EDITOR):
            result = await both(state, planned, core, text, variables, viewer)
            assert result is not None, text
            why = disagreement(*result)
            assert why is None, f"{text}\n{why}\nplanned: {result[0]}\ngraphql: {result[1]}"
            compared += 1
    assert planned.counts["planned"] == compared  # none of these fell back


async def test_generated_documents_agree(
    executors: tuple[GatewayState, Executor, Executor],
) -> None:
    state, planned, core = executors
    documents = await asyncio.to_thread(generated_documents, GENERATED)
    assert len(documents) == GENERATED
    differences = []
    for text in documents:
        for viewer in (ANONYMOUS, EDITOR):
            result = await both(state, planned, core, text, {}, viewer)
            why = None if result is None else disagreement(*result)
            if why is not None:
                differences.append(f"{text}\n{why}\nplanned: {result}")
    assert not differences, "\n\n".join(differences[:3])


# Variables the planned executor coerces itself (scalars and enums given valid values) and
# those it leaves to graphql-core (missing, null, invalid, defaults, input objects), both ways.
_VARIABLE_CASES: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "query($s: String!) { product(slug: $s) { name } }",
        [{"s": "{slug}"}, {"s": "no-such"}, {"s": 5}, {"s": None}, {}, {"s": ["a"]}],
    ),
    (
        "query($f: Int, $a: String) { products(first: $f, after: $a) { edges { node { slug } } } }",
        [{"f": 2}, {"f": "2"}, {"f": 2.5}, {"f": None}, {}, {"f": 2**40}, {"f": 2, "a": 7}],
    ),
    (
        "query($f: Int = 3) { products(first: $f) { edges { node { slug } } } }",
        [{}, {"f": 1}, {"f": None}, {"f": True}],
    ),
    (
        "query($d: SortDirection!) { products(first: 2, sortBy: {field: PRICE, direction: $d}) "
        "{ edges { node { slug } } } }",
        [{"d": "DESC"}, {"d": "ASC"}, {"d": "SIDEWAYS"}, {"d": 1}, {}],
    ),
    (
        "query($o: ProductSort) { products(first: 2, sortBy: $o) { edges { node { slug } } } }",
        [{"o": {"field": "NAME"}}, {"o": {"field": "NOPE"}}, {"o": "NAME"}, {}],
    ),
    (
        "query($id: ID!, $yes: Boolean!) { node(id: $id) { id } "
        'product(slug: "x") @include(if: $yes) { name } }',
        [{"id": "UHJvZHVjdDox", "yes": True}, {"id": 1, "yes": False}, {"id": "x", "yes": "y"}],
    ),
]


async def test_variables_are_coerced_and_refused_as_graphql_core_does(
    executors: tuple[GatewayState, Executor, Executor], oracle: Oracle
) -> None:
    state, planned, core = executors
    slug = next(p["slug"] for p in oracle.catalog.products if oracle.public(p))
    refused = 0
    for text, cases in _VARIABLE_CASES:
        for variables in cases:
            given = {k: slug if v == "{slug}" else v for k, v in variables.items()}
            result = await both(state, planned, core, text, given, ANONYMOUS)
            assert result is not None, text
            assert result[0] == result[1], f"{text} {given}\n{result[0]}\n{result[1]}"
            refused += result[0][0] is None
    assert refused == 15  # each invalid one was refused, not only agreed on
