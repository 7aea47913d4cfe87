"""The planned executor takes simple variables as they are sent, exactly as graphql-core coerces
them: the same values and sources, and graphql-core's own errors where it must refuse."""

from typing import Any

import pytest
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse

from graph.execution.plan import MAX_BOUND, Bound, Compiler, Step, bind, variable_shape
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


@pytest.fixture(scope="module")
def compiler(schema: GraphQLSchema) -> Compiler:
    built = build_schema()
    return Compiler(schema, built.schema_converter.scalar_registry, built.config)


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


def _root_step(
    schema: GraphQLSchema, compiler: Compiler, text: str, variables: dict[str, Any]
) -> tuple[Step, OperationDefinitionNode]:
    operation = _operation(text)
    bound = bind(schema, operation, {}, variables, variable_shape(schema, operation))
    assert isinstance(bound, Bound)
    (step,) = compiler.compile(bound).root.steps
    return step, operation


def test_leaf_arguments_are_bound_once_per_variable_values(
    schema: GraphQLSchema, compiler: Compiler
) -> None:
    text = "query Q($slug: String!) { product(slug: $slug) { id } }"
    step, operation = _root_step(schema, compiler, text, {"slug": "a"})

    def arguments(variables: dict[str, Any]) -> dict[str, Any]:
        bound = bind(schema, operation, {}, variables)
        assert isinstance(bound, Bound)
        return compiler.arguments(step, bound)

    first = arguments({"slug": "a"})
    assert first == {"id": None, "slug": "a"}
    assert arguments({"slug": "a"}) is first
    assert arguments({"slug": "b"}) == {"id": None, "slug": "b"}
    for i in range(3 * MAX_BOUND):  # a client sending ever new values
        assert arguments({"slug": f"s{i}"}) == {"id": None, "slug": f"s{i}"}
    assert step.bound is not None
    assert 0 < len(step.bound) <= MAX_BOUND


def test_arguments_that_are_converted_are_bound_every_time(
    schema: GraphQLSchema, compiler: Compiler
) -> None:
    """An input object becomes a new Strawberry object each time: never shared."""
    text = "query Q($f: ProductFilter) { products(first: 1, filter: $f) { totalCount } }"
    step, operation = _root_step(schema, compiler, text, {"f": {"inStock": True}})
    assert step.uses_variables
    assert step.bound is None
    bound = bind(schema, operation, {}, {"f": {"inStock": True}})
    assert isinstance(bound, Bound)
    assert (
        compiler.arguments(step, bound)["filter"] is not compiler.arguments(step, bound)["filter"]
    )
