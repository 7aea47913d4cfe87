"""What an operation costs: estimated from the document before it runs, counted on its result.

The model is IBM's GraphQL Cost Directives, as Apollo Router's demand control and Shopify use it:
every object costs 1, scalars and enums 0, a mutation's root field 10, and a list multiplies the
cost of one item by its size. `@listSize` on a field names the size (a slicing argument such as
`first`, or an assumed size) and `@cost` makes a field dearer (`totalCount` is a COUNT). A list
whose field metadata names a list argument (graph.types.demand.sized_by: `nodes(ids:)`,
`_entities(representations:)`) has as many items as that argument holds, uncapped. The
estimate takes every list at its requested or assumed size and every `@skip`/`@include` as
included; the actual cost counts the objects and dear fields the result holds.

A plan is compiled once per validated (document, operation) and walked per request, so neither
figure re-reads the document.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLCompositeType,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
)

from graph.types.demand import SIZED_BY

MUTATION_WEIGHT = 10
# `__schema` and `__type` answer from memory; their subtrees are bounded by the limits.
INTROSPECTION_WEIGHT = 10
# A list with no `@listSize`.
DEFAULT_LIST_SIZE = 10
# Slicing arguments are capped at 100 by every field that takes one; a larger value is refused
# with BAD_USER_INPUT when the field runs, so it is not priced above the cap.
MAX_SLICE = 100
STRAWBERRY_DEFINITION = "strawberry-definition"


@dataclass(frozen=True, slots=True)
class FieldRule:
    weight: int
    is_list: bool
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: frozenset[str] = frozenset()
    # A list argument whose length is the list's size (graph.types.demand.sized_by).
    sized_by: str | None = None


def _strawberry_field(definition: GraphQLField) -> Any:
    return (definition.extensions or {}).get(STRAWBERRY_DEFINITION)


def _directive(definition: GraphQLField, name: str) -> Any:
    for directive in getattr(_strawberry_field(definition), "directives", None) or ():
        found = getattr(type(directive), "__strawberry_directive__", None)
        if found is not None and (found.graphql_name or found.python_name) == name:
            return directive
    return None


def _given(value: Any) -> Any:
    """A directive argument, or None when left out (Strawberry's UNSET)."""
    return value if isinstance(value, int | list | tuple) else None


def field_rule(definition: GraphQLField, *, root_of: OperationType | None) -> FieldRule:
    nullable = get_nullable_type(definition.type)
    named = get_named_type(definition.type)
    weight = 1 if is_composite_type(named) else 0
    if root_of is OperationType.MUTATION:
        weight = MUTATION_WEIGHT
    cost = _directive(definition, "cost")
    if cost is not None:
        weight = int(cost.weight)
    is_list = isinstance(nullable, GraphQLList)
    metadata = getattr(_strawberry_field(definition), "metadata", None) or {}
    sized_by = metadata.get(SIZED_BY)
    size = _directive(definition, "listSize")
    if size is None:
        return FieldRule(weight, is_list, sized_by=sized_by)
    return FieldRule(
        weight,
        is_list,
        _given(size.assumed_size),
        tuple(_given(size.slicing_arguments) or ()),
        frozenset(_given(size.sized_fields) or ()),
        sized_by,
    )


class CostModel:
    """The rule of every field of the schema, read once from its directives."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        roots = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }
        root_names = {t.name: op for op, t in roots.items() if t is not None}
        self.rules: dict[tuple[str, str], FieldRule] = {}
        for type_ in schema.type_map.values():
            if type_.name.startswith("__") or not hasattr(type_, "fields"):
                continue
            if not is_composite_type(type_):
                continue
            for name, definition in type_.fields.items():  # type: ignore[union-attr]
                root_of = root_names.get(type_.name)
                self.rules[type_.name, name] = field_rule(definition, root_of=root_of)

    def plan(self, document: DocumentNode, operation: OperationDefinitionNode) -> "Plan":
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return Plan(())
        builder = _Builder(self, document)
        return Plan(tuple(builder.fields(root, [operation.selection_set])))


@dataclass(slots=True)
class PlanField:
    key: str
    name: str
    rule: FieldRule
    arguments: tuple[ArgumentNode, ...]
    # The selections under the field, per type its value may have; empty for leaves.
    children: dict[str, tuple["PlanField", ...]] = field(default_factory=dict)

    def size(self, variables: Mapping[str, Any]) -> int:
        """How many items the field returns, as requested or assumed."""
        if self.rule.sized_by is not None:
            value = _argument(self.arguments, self.rule.sized_by, variables)
            if value is not None:
                # One value where a list is expected is coerced to a list of one.
                return len(value) if isinstance(value, list) else 1
        for name in self.rule.slicing_arguments:
            value = _argument(self.arguments, name, variables)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, min(value, MAX_SLICE))
        if self.rule.assumed_size is not None:
            return self.rule.assumed_size
        return DEFAULT_LIST_SIZE


def _argument(arguments: tuple[ArgumentNode, ...], name: str, variables: Mapping[str, Any]) -> Any:
    for argument in arguments:
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, ListValueNode):
            return list(value.values)
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    fields: tuple[PlanField, ...]
    # The estimate, where no list's size is a variable's: worked out once, not per request.
    constant: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not _variable_sized(self.fields):
            object.__setattr__(self, "constant", _estimate(self.fields, {}, None, frozenset()))

    def estimate(self, variables: Mapping[str, Any] | None) -> int:
        if self.constant is not None:
            return self.constant
        return _estimate(self.fields, variables or {}, None, frozenset())

    def actual(self, data: Any) -> int:
        return _actual(self.fields, data) if isinstance(data, dict) else 0


def _estimate(
    fields: tuple[PlanField, ...],
    variables: Mapping[str, Any],
    parent_size: int | None,
    sized: frozenset[str],
) -> int:
    total = 0
    for plan in fields:
        rule = plan.rule
        if parent_size is not None and plan.name in sized:
            count = parent_size
        else:
            count = plan.size(variables) if rule.is_list else 1
        inner = 0
        if plan.children:
            own = plan.size(variables) if rule.sized_fields else None
            inner = max(
                _estimate(children, variables, own, rule.sized_fields)
                for children in plan.children.values()
            )
        total += count * (rule.weight + inner)
    return total


def _variable_sized(fields: tuple[PlanField, ...]) -> bool:
    for plan in fields:
        rule = plan.rule
        sizing = {rule.sized_by, *rule.slicing_arguments}
        if any(
            a.name.value in sizing and isinstance(a.value, VariableNode) for a in plan.arguments
        ):
            return True
        if any(_variable_sized(children) for children in plan.children.values()):
            return True
    return False


def _actual(fields: tuple[PlanField, ...], data: dict[str, Any]) -> int:
    total = 0
    for plan in fields:
        value = data.get(plan.key)
        if value is None:
            continue
        items = value if isinstance(value, list) else (value,)
        if not plan.children:
            total += plan.rule.weight * len(items)
            continue
        for item in items:
            if isinstance(item, dict):
                total += plan.rule.weight + max(
                    _actual(children, item) for children in plan.children.values()
                )
    return total


class _Builder:
    """Collects fields as execution would (merged by response key, each fragment once per
    selection set), for every object type a value may have; leaves with no cost are dropped."""

    def __init__(self, model: CostModel, document: DocumentNode) -> None:
        self.model = model
        self.schema = model.schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def fields(
        self, parent: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> list[PlanField]:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(parent, selection_set, grouped, visited)
        planned = []
        for key, nodes in grouped.items():
            planned_field = self._field(parent, key, nodes)
            if planned_field is not None:
                planned.append(planned_field)
        return planned

    def _collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, parent):
                    self._collect(parent, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, parent):
                    self._collect(parent, fragment.selection_set, grouped, visited)

    def _applies(self, condition: Any, parent: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = self.schema.get_type(condition.name.value)
        if named is None or named is parent:
            return named is parent
        if isinstance(named, GraphQLAbstractType):
            return self.schema.is_sub_type(named, parent)
        return False

    def _field(
        self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> PlanField | None:
        name = nodes[0].name.value
        if name == "__typename":
            return None
        if name in ("__schema", "__type"):
            return PlanField(key, name, FieldRule(INTROSPECTION_WEIGHT, False), ())
        rule = self.model.rules.get((parent.name, name))
        definition = parent.fields.get(name)
        if rule is None or definition is None:
            return None
        planned = PlanField(key, name, rule, tuple(nodes[0].arguments or ()))
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLCompositeType):
            sets = [n.selection_set for n in nodes if n.selection_set is not None]
            for object_type in self._possible(named):
                planned.children[object_type.name] = tuple(self.fields(object_type, sets))
        if rule.weight == 0 and not planned.children:
            return None
        return planned

    def _possible(self, named: GraphQLNamedType) -> tuple[GraphQLObjectType, ...]:
        if isinstance(named, GraphQLObjectType):
            return (named,)
        if isinstance(named, GraphQLAbstractType):
            return tuple(self.schema.get_possible_types(named))
        return ()
