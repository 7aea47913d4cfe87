"""The schema's two texts. The subgraph SDL is what Strawberry's Federation support prints and
`_service { sdl }` returns: `@link`, `@key`, `@shareable`, `_entities`, `_service` and their
types. The public SDL (`schema.graphql`, what clients and the contract check read) is the same
schema without what only a router uses, and with `@cost`/`@listSize` defined rather than
imported.
"""

from typing import Any

from graphql import (
    REMOVE,
    DirectiveNode,
    DocumentNode,
    FieldDefinitionNode,
    Node,
    TypeDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from graph.types.demand import PUBLIC_DEFINITIONS

FEDERATION_TYPES = frozenset({"_Any", "_Entity", "_Service"})
FEDERATION_FIELDS = frozenset({"_entities", "_service"})
FEDERATION_DIRECTIVES = frozenset({"key", "shareable"})


class _WithoutFederation(Visitor):
    def enter_schema_definition(self, *_: Any) -> Any:
        return REMOVE  # it names the usual root types; it is there only to carry @link

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        return REMOVE if node.name.value in FEDERATION_DIRECTIVES else None

    def enter_field_definition(self, node: FieldDefinitionNode, *_: Any) -> Any:
        return REMOVE if node.name.value in FEDERATION_FIELDS else None

    def enter(self, node: Node, *_: Any) -> Any:
        if isinstance(node, TypeDefinitionNode) and node.name.value in FEDERATION_TYPES:
            return REMOVE
        return None


def public_sdl(subgraph: str) -> str:
    """The public SDL of a subgraph SDL, printed as graphql-core prints a schema."""
    document = visit(parse(subgraph, no_location=True), _WithoutFederation())
    definitions = (*parse(PUBLIC_DEFINITIONS, no_location=True).definitions, *document.definitions)
    return _spaced(print_ast(DocumentNode(definitions=definitions)))


def _spaced(printed: str) -> str:
    """print_ast's text with a blank line before each description that does not open its block
    (of fields, arguments or enum values), as graphql-core's and Strawberry's schema printers
    put it."""
    lines: list[str] = []
    in_block_string = False
    for line in printed.split("\n"):
        text = line.lstrip()
        opens_item = line.startswith(" ") and text.startswith('"')
        if opens_item and not in_block_string and not lines[-1].endswith(("{", "(")):
            lines.append("")
        if text == '"""':
            in_block_string = not in_block_string
        lines.append(line)
    return "\n".join(lines)
