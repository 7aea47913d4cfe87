"""The planned executor takes simple variables as they are sent, exactly as graphql-core coerces
them: the same values and sources, and graphql-core's own errors where it must refuse."""

from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse

from graph.execution.plan import Bound, bind, variable_shape
from graph.schema import build_schema

SIMPLE = """
query Q($slug: String!, $after: String, $id: ID, $sub: Boolean) {
  a: product(slug: $slug) { id }
  b: products(first: 2, after: $after, includeSubcategories: $sub) { totalCount }
  c: node(id: $id) { id }
}"""

INPUTS: list[dict[str, Any]] = [
    {"slug": "x"},
    {"slug": "x", "after": None, "id": None, "sub": None},
    {"slug": "x", "after": "YQ==", "id": "UHJvZHVjdDox", "sub": True},
    {"slug": "", "sub": False, "unknown": [1, 2]},
    {"slug": "ünï\x00code"},
    # graphql-core's to coerce or refuse: not sent as their own class.
    {"slug": "x", "id": 5},
    {"slug": "x", "sub": 1},
    {"slug": 5},
    {"slug": None},
    {},
    {"slug": ["x"]},
    {"slug": {"x": 1}},
    {"slug": True},
]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def _operation(text: str) -> OperationDefinitionNode:
    definition = parse(text).definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    return definition


def _outcome(bound: Bound | list[GraphQLError]) -> Any:
    """Errors by message; values and their sources (types by name: type_from_ast makes a new
    GraphQLNonNull each time, and those compare by identity)."""
    if isinstance(bound, list):
        return [error.message for error in bound]
    values = bound.variable_values
    sources = {
        name: (s.signature.name, str(s.signature.type), s.signature.default, s.value)
        for name, s in values.sources.items()
    }
    return sources, values.coerced


@pytest.mark.parametrize("inputs", INPUTS)
def test_simple_variables_bind_as_graphql_core_coerces_them(
    schema: GraphQLSchema, inputs: dict[str, Any]
) -> None:
    operation = _operation(SIMPLE)
    shape = variable_shape(schema, operation)
    assert shape is not None

    fast = bind(schema, operation, {}, inputs, shape)
    core = bind(schema, operation, {}, inputs)

    assert _outcome(fast) == _outcome(core)


def test_an_id_sent_as_a_number_is_coerced_to_text(schema: GraphQLSchema) -> None:
    operation = _operation(SIMPLE)
    bound = bind(schema, operation, {}, {"slug": "x", "id": 5}, variable_shape(schema, operation))
    assert isinstance(bound, Bound)
    assert bound.variable_values.coerced["id"] == "5"


@pytest.mark.parametrize(
    "text",
    [
        "query Q($first: Int) { products(first: $first) { totalCount } }",
        'query Q($slug: String = "x") { product(slug: $slug) { id } }',
        "query Q($slugs: [String!]!) { a: product(slug: $slugs) { id } }",
        "query Q($f: ProductFilter) { products(filter: $f) { totalCount } }",
    ],
)
def test_other_variables_are_left_to_graphql_core(schema: GraphQLSchema, text: str) -> None:
    assert variable_shape(schema, _operation(text)) is None
