"""Operation limits checked once per distinct document, before anything executes."""

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 50
    max_tokens: int = 10_000


def check(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """Errors for operations nested deeper than, or with more aliases than, the limits allow.

    Introspection (`__schema`, `__type`) is left to graphql-core's own depth rule.
    Fragment cycles are refused by validation, which runs first.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    errors = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth, aliases = _measure(definition.selection_set, fragments)
        name = definition.name.value if definition.name else "anonymous"
        if depth > limits.max_depth:
            errors.append(
                GraphQLError(
                    f"Operation {name!r} is {depth} levels deep; the limit is {limits.max_depth}.",
                    definition,
                )
            )
        if aliases > limits.max_aliases:
            errors.append(
                GraphQLError(
                    f"Operation {name!r} uses {aliases} aliases; at most {limits.max_aliases}.",
                    definition,
                )
            )
    return errors


def _measure(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[int, int]:
    """(depth, aliases) of a selection set, expanding fragments."""
    if selection_set is None:
        return 0, 0
    depth = aliases = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            inner_depth, inner_aliases = _measure(selection.selection_set, fragments)
            depth = max(depth, 1 + inner_depth)
            aliases += inner_aliases + (selection.alias is not None)
        else:
            inner = (
                fragments.get(selection.name.value)
                if isinstance(selection, FragmentSpreadNode)
                else selection
            )
            if isinstance(inner, FragmentDefinitionNode | InlineFragmentNode):
                inner_depth, inner_aliases = _measure(inner.selection_set, fragments)
                depth = max(depth, inner_depth)
                aliases += inner_aliases
    return depth, aliases
