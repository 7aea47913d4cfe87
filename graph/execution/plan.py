"""Execution plans: what an operation reads, compiled once per (document, operation, values of the
variables its @skip/@include read), the way graphql-jit and Grafast do.

graphql-core's own `collect_fields` merges fields by response key, applies fragments and
@skip/@include, so a plan selects exactly what graphql-core would. Per selection set and object
type the plan holds its steps in response order: the key, how the field is resolved (a getter or
a batch from graph.execution.fields), how its value completes (leaf serializer, list or not,
nullability) and the child selections per object type. An operation the plan cannot cover
(a field without a spec, introspection, a subscription) compiles to None and runs on
graphql-core instead.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    ValueNode,
    VariableNode,
    get_argument_values,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.pyutils import Undefined
from strawberry.relay.types import GlobalID
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import (
    StrawberryArgument,
    _is_leaf_type,
    _is_optional_leaf_type,
    convert_argument,
)
from strawberry.types.base import StrawberryMaybe
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

from graph.execution.cost import CostModel
from graph.execution.fields import FIELDS, FieldSpec


class Bound(NamedTuple):
    """What a plan needs of one request: graphql-core's ExecutionContext.build gives the same,
    at ~40 us, most of it spent on what is the same for every request of a document."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    variable_values: VariableValues


def fragments_of(document: DocumentNode) -> dict[str, FragmentDetails] | None:
    """The fragments as collect_fields takes them; None when one declares variables
    (experimental fragment arguments: left to graphql-core)."""
    found = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            found[definition.name.value] = FragmentDetails(definition)
    return found


# Built-in scalars whose input coercion gives a value of exactly this class back unchanged.
AS_GIVEN: dict[str, tuple[GraphQLScalarType, type]] = {
    "String": (GraphQLString, str),
    "ID": (GraphQLID, str),
    "Boolean": (GraphQLBoolean, bool),
}
# Per variable: its name, graphql-core's signature of it, the class its values are taken as
# they are of, and whether it is non-null.
VariableShape = tuple[tuple[str, GraphQLVariableSignature, type, bool], ...]


def variable_shape(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> VariableShape | None:
    """The operation's variables when each is a String, ID or Boolean, nullable or not, with
    no default (most operations' `$slug: String!`, `$after: String`); None otherwise."""
    shape = []
    for definition in operation.variable_definitions or ():
        node = definition.type
        non_null = isinstance(node, NonNullTypeNode)
        named = node.type if isinstance(node, NonNullTypeNode) else node
        if definition.default_value is not None or not isinstance(named, NamedTypeNode):
            return None
        scalar, given = AS_GIVEN.get(named.name.value, (None, object))
        signature = get_variable_signature(schema, definition)
        if scalar is None or isinstance(signature, GraphQLError):
            return None
        if get_named_type(signature.type) is not scalar:  # the schema's own, not a lookalike
            return None
        shape.append((signature.name, signature, given, non_null))
    return tuple(shape)


def _as_given(shape: VariableShape, inputs: dict[str, Any]) -> VariableValues | None:
    """coerce_variable_values' result for variables of a simple `shape` sent as their class, or
    None where graphql-core has to coerce (or refuse) them."""
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for name, signature, given, non_null in shape:
        value = inputs.get(name, Undefined)
        if value is Undefined:
            if non_null:
                return None
            sources[name] = VariableValueSource(signature)
        elif value is None:
            if non_null:
                return None
            sources[name] = VariableValueSource(signature, None)
            coerced[name] = None
        elif value.__class__ is given:
            sources[name] = VariableValueSource(signature, value)
            coerced[name] = value
        else:
            return None
    return VariableValues(sources, coerced)


def bind(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
    variables: dict[str, Any] | None,
    shape: VariableShape | None = None,
) -> Bound | list[GraphQLError]:
    """The request's variables coerced as graphql-core coerces them, or its errors. With the
    operation's `shape`, variables sent as their own class are taken as they are (graphql-core's
    coercion was a twentieth of a product card's instructions)."""
    simple = None if shape is None else _as_given(shape, variables or {})
    if simple is not None:
        return Bound(schema, operation, fragments, simple)
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), variables or {}, max_errors=50
    )
    if isinstance(coerced, list):
        return coerced
    return Bound(schema, operation, fragments, coerced)


# Argument sets a step keeps bound (Step.bound) before it starts again.
MAX_BOUND = 64


class Unplannable(Exception):
    """The operation reads something the planned executor does not cover."""


# graphql-core's serializers that return a value of exactly this class unchanged.
UNCHANGED: dict[Callable[[Any], Any], type] = {
    GraphQLString.serialize: str,
    GraphQLID.serialize: str,
    GraphQLBoolean.serialize: bool,
}


@dataclass(slots=True)
class Step:
    parent_type: str
    key: str
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField | None
    spec: FieldSpec | None
    # __typename: the concrete type's name, a constant.
    typename: str | None = None
    non_null: bool = False
    is_list: bool = False
    item_non_null: bool = False
    serialize: Callable[[Any], Any] | None = None
    # A leaf whose values of exactly this class serialize to themselves (String and ID: str,
    # Boolean: bool): copied without the call, which was most of a text field's cost.
    same: type | None = None
    # Child selections by object type name, for object fields.
    children: dict[str, "Selection"] | None = None
    abstract: bool = False
    # Arguments as the resolver takes them, when no variable decides them.
    static_arguments: dict[str, Any] | None = None
    uses_variables: bool = False
    # Names of the fields selected under this one (a connection wants to know totalCount), and
    # of those under them as `field.subfield`.
    selected: frozenset[str] = frozenset()
    # What each value of the field adds to the actual cost (graph.execution.cost's model).
    weight: int = 0
    # How its arguments become the resolver's, once worked out (Compiler.arguments).
    converter: "Arguments | None" = None
    # Arguments already bound, by the values of the variables they read (`reads`): for a step
    # whose arguments are all leaves, taken as they are; None: bound every time.
    bound: dict[tuple[Any, ...], dict[str, Any]] | None = None
    reads: tuple[str, ...] = ()


@dataclass(slots=True)
class Selection:
    type_name: str
    steps: list[Step] = field(default_factory=list)
    keys: tuple[str, ...] = ()


@dataclass(slots=True)
class Plan:
    root: Selection
    operation: OperationType


def _unwrap(type_: GraphQLOutputType) -> tuple[bool, bool, bool]:
    """(non-null, list, list items non-null)."""
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not isinstance(inner, GraphQLList):
        return non_null, False, False
    item = inner.of_type
    if isinstance(item, GraphQLNonNull):
        item = item.of_type
        if isinstance(item, GraphQLList):
            raise Unplannable("lists of lists")
        return non_null, True, True
    if isinstance(item, GraphQLList):
        raise Unplannable("lists of lists")
    return non_null, True, False


def _has_variable(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_has_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_has_variable(item.value) for item in value.fields)
    return False


def _uses_variables(nodes: list[FieldNode]) -> bool:
    return any(_has_variable(argument.value) for n in nodes for argument in n.arguments or ())


def _variables_in(value: ValueNode) -> list[str]:
    if isinstance(value, VariableNode):
        return [value.name.value]
    if isinstance(value, ListValueNode):
        return [name for item in value.values for name in _variables_in(item)]
    if isinstance(value, ObjectValueNode):
        return [name for item in value.fields for name in _variables_in(item.value)]
    return []


class Compiler:
    def __init__(self, schema: GraphQLSchema, scalar_registry: Any, config: Any) -> None:
        self.schema = schema
        self.scalar_registry = scalar_registry
        self.config = config
        self.costs = CostModel(schema)

    def compile(self, built: Bound) -> Plan:
        operation = built.operation
        if operation.operation is not OperationType.QUERY:
            raise Unplannable("only queries are planned")
        root_type = self.schema.query_type
        if root_type is None:  # pragma: no cover - every schema here has a query type
            raise Unplannable("no query type")
        collected = collect_fields(
            self.schema, built.fragments, built.variable_values, root_type, operation
        )
        root = self._selection(built, root_type, collected.grouped_field_set)
        return Plan(root, operation.operation)

    def _selection(
        self,
        built: Bound,
        parent: GraphQLObjectType,
        grouped: dict[str, FieldDetailsList],
    ) -> Selection:
        specs = FIELDS.get(parent.name)
        selection = Selection(parent.name)
        for key, details in grouped.items():
            nodes = [d.node for d in details]
            if any(d.defer_usage is not None for d in details):
                raise Unplannable("@defer")
            name = nodes[0].name.value
            if name == "__typename":
                step = Step(parent.name, key, name, nodes, None, None, typename=parent.name)
                selection.steps.append(step)
                continue
            if specs is None or name not in specs:
                raise Unplannable(f"{parent.name}.{name}")
            definition = parent.fields[name]
            selection.steps.append(self._step(built, parent, key, nodes, details, definition))
        selection.keys = tuple(step.key for step in selection.steps)
        return selection

    def _step(
        self,
        built: Bound,
        parent: GraphQLObjectType,
        key: str,
        nodes: list[FieldNode],
        details: FieldDetailsList,
        definition: GraphQLField,
    ) -> Step:
        non_null, is_list, item_non_null = _unwrap(definition.type)
        spec = FIELDS[parent.name][nodes[0].name.value]
        step = Step(
            parent.name,
            key,
            nodes[0].name.value,
            nodes,
            definition,
            spec,
            non_null=non_null,
            is_list=is_list,
            item_non_null=item_non_null,
        )
        rule = self.costs.rules.get((parent.name, step.name))
        step.weight = 0 if rule is None else rule.weight
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLLeafType):
            step.serialize = named.serialize
            step.same = UNCHANGED.get(named.serialize)
        else:
            step.abstract = isinstance(named, GraphQLAbstractType)
            possible = (
                self.schema.get_possible_types(named)  # type: ignore[arg-type]
                if step.abstract
                else [named]
            )
            step.children = {}
            selected: set[str] = set()
            for object_type in possible:
                assert isinstance(object_type, GraphQLObjectType)
                sub = collect_subfields(
                    self.schema,
                    built.fragments,
                    built.variable_values,
                    built.operation,
                    object_type,
                    details,
                )
                child = self._selection(built, object_type, sub.grouped_field_set)
                step.children[object_type.name] = child
                selected |= {s.name for s in child.steps}
                # And a level further, as `field.subfield`: a lookup that brings more than the
                # row in its statement sees what it would bring for nothing.
                selected |= {
                    f"{s.name}.{name}"
                    for s in child.steps
                    for name in s.selected
                    if "." not in name
                }
            step.selected = frozenset(selected)
        if definition.args:
            step.uses_variables = _uses_variables(nodes)
            if not step.uses_variables:
                step.static_arguments = self.arguments(step, built)
            elif self._converter(step).plain:
                step.bound = {}
                step.reads = tuple(
                    dict.fromkeys(
                        name for a in nodes[0].arguments or () for name in _variables_in(a.value)
                    )
                )
        return step

    def arguments(self, step: Step, built: Bound) -> dict[str, Any]:
        """The step's arguments as its Strawberry resolver would receive them (the same dict
        for the same values of the variables it reads, when they are all leaves: no batch
        changes its arguments)."""
        assert step.definition is not None
        bound, key = step.bound, None
        if bound is not None:
            coerced = built.variable_values.coerced
            key = tuple([coerced.get(name, Undefined) for name in step.reads])
            try:
                found = bound.get(key)
            except TypeError:  # a list or an object: not a key
                key = None
            else:
                if found is not None:
                    return found
        raw = get_argument_values(step.definition, step.nodes[0], built.variable_values)
        converted = self._converter(step)(raw)
        if bound is not None and key is not None:
            if len(bound) >= MAX_BOUND:  # a client sending ever new values
                bound.clear()
            bound[key] = converted
        return converted

    def _converter(self, step: Step) -> "Arguments":
        converter = step.converter
        if converter is None:
            assert step.definition is not None
            strawberry_field = (step.definition.extensions or {})["strawberry-definition"]
            converter = step.converter = Arguments(
                strawberry_field.arguments, self.scalar_registry, self.config
            )
        return converter


class Arguments:
    """A field's arguments converted as Strawberry's `convert_arguments` converts them, with
    what is the same for every request worked out once: each argument's GraphQL name (a name
    conversion per argument per request was a tenth of a small request) and whether its value
    is taken as it is (a leaf: a scalar or an enum, not a GlobalID, not in a Maybe)."""

    __slots__ = ("config", "names", "plain", "registry")

    def __init__(
        self,
        arguments: list[StrawberryArgument],
        registry: Mapping[object, ScalarWrapper | ScalarDefinition],
        config: StrawberryConfig,
    ) -> None:
        self.registry = registry
        self.config = config
        self.names: list[tuple[str, str, StrawberryArgument | None]] = []
        for argument in arguments:
            assert argument.python_name
            kind = argument.type
            plain = not isinstance(kind, StrawberryMaybe) and (
                _is_leaf_type(kind, registry, (GlobalID,))
                or _is_optional_leaf_type(kind, registry, (GlobalID,))
            )
            name = config.name_converter.from_argument(argument)
            self.names.append((name, argument.python_name, None if plain else argument))
        # Every argument a leaf, taken as it is: converted values hold nothing mutable.
        self.plain = all(argument is None for _, _, argument in self.names)

    def __call__(self, raw: dict[str, Any]) -> dict[str, Any]:
        converted: dict[str, Any] = {}
        for name, python_name, argument in self.names:
            if name in raw:
                value = raw[name]
                if argument is not None:
                    value = convert_argument(
                        value, argument.type, self.registry, self.config, path=(name,)
                    )
                converted[python_name] = value
        return converted
