"""Operation limits, measured on the document's tokens before it is parsed or validated.

graphql-core's parser costs about ten microseconds a token, so a document at the token limit
costs 50-100 ms to parse before any limit could look at its AST. This pass splits the text into
tokens with one regular expression and walks only the shape of its selection sets (fields,
aliases, fragment spreads; arguments and directives are skipped), in a few milliseconds.

Every count is what execution would see with every fragment spread expanded, but each fragment
is measured once and its figures reused at every spread, so the pass costs O(document) however
often fragments spread each other (a fragment that spreads the next one twice, thirty deep, is
2^30 fields expanded and microseconds measured). A document the walk cannot follow is left to
the parser, which reports its syntax error.
"""

import re
from dataclasses import dataclass

from graphql import GraphQLError

# Significant tokens and comments; white space, commas and the BOM are skipped between them.
# Strings and block strings are one token each, so braces inside them count for nothing.
TOKEN = re.compile(
    r'"""(?:\\"""|[^"]|"(?!""))*"""'
    r'|"(?:\\.|[^"\\\n\r])*"'
    r"|#[^\n\r]*"
    r"|\.\.\."
    r"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
    r"|[_A-Za-z][_0-9A-Za-z]*"
    r"|[^\s,\ufeff]",
    re.S,
)
OPERATION_KEYWORDS = frozenset({"query", "mutation", "subscription"})
# The schema's introspection roots: their nesting is bounded by graphql-core's own
# MaxIntrospectionDepthRule, and a client's introspection query runs deeper than any data query.
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Selection sets nested deeper than this are refused outright: the parser would recurse as deep.
MAX_NESTING = 100


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    # Field selections in all, fragments expanded; bounds validation and planning work.
    max_fields: int = 1_000
    max_tokens: int = 10_000
    max_comments: int = 1_000
    max_source_length: int = 200_000


@dataclass(frozen=True, slots=True)
class Shape:
    """A selection set's figures, fragments expanded."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    # Fields at this level (the operation's root fields when measured at the root).
    width: int = 0


EMPTY = Shape()


class Selections:
    """A selection set as the walk saw it: its fields (aliased, introspection root, what is
    selected under it) and what it spreads. A plain class: the walk makes one per selection
    set of every new document, hostile ones included."""

    __slots__ = ("fields", "inline", "spreads")

    def __init__(self) -> None:
        self.fields: list[tuple[bool, bool, Selections | None]] = []
        self.spreads: list[str] = []
        self.inline: list[Selections] = []


class Unfollowable(Exception):
    """Not a document the walk understands; the parser will say what is wrong with it."""


class TooDeep(Exception):
    pass


class _Walker:
    """A recursive descent over the tokens, as tight as Python allows: it runs before the
    parser on every new document, the hostile ones included. The list ends with an empty
    token, which no real one is, so lookahead never needs a bounds check."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = [*tokens, ""]
        self.at = 0

    def take(self) -> str:
        token = self.tokens[self.at]
        if not token:
            raise Unfollowable
        self.at += 1
        return token

    def skip_group(self) -> None:
        """Skips a balanced (...) or [...] starting at the current token."""
        tokens, at = self.tokens, self.at
        opening = tokens[at]
        closing = ")" if opening == "(" else "]"
        level = 0
        while True:
            token = tokens[at]
            if not token:
                raise Unfollowable
            at += 1
            if token == opening:
                level += 1
            elif token == closing:
                level -= 1
                if not level:
                    self.at = at
                    return

    def skip_directives(self) -> None:
        tokens = self.tokens
        while tokens[self.at] == "@":
            self.at += 2
            if tokens[self.at] == "(":
                self.skip_group()

    def selection_set(self, nesting: int) -> Selections:
        if nesting > MAX_NESTING:
            raise TooDeep
        tokens = self.tokens
        if tokens[self.at] != "{":
            raise Unfollowable
        at = self.at + 1
        found = Selections()
        fields = found.fields
        while True:
            token = tokens[at]
            if token == "}":
                break
            if not token:
                raise Unfollowable
            at += 1
            if token == "...":
                self.at = at
                self._fragment(found, nesting)
                at = self.at
                continue
            if not _is_name(token):
                raise Unfollowable
            aliased = tokens[at] == ":"
            if aliased:
                token = tokens[at + 1]
                if not token:
                    raise Unfollowable
                at += 2
            following = tokens[at]
            if following == "(" or following == "@":
                self.at = at
                if following == "(":
                    self.skip_group()
                self.skip_directives()
                at = self.at
                following = tokens[at]
            inner = None
            if following == "{":
                self.at = at
                inner = self.selection_set(nesting + 1)
                at = self.at
            fields.append((aliased, token in INTROSPECTION_ROOTS, inner))
        self.at = at + 1
        return found

    def _fragment(self, found: Selections, nesting: int) -> None:
        tokens, at = self.tokens, self.at
        if tokens[at] == "on" and _is_name(tokens[at + 1]):
            self.at += 2
        elif _is_name(tokens[at]) and tokens[at] != "on":
            found.spreads.append(self.take())
            self.skip_directives()
            return
        self.skip_directives()
        found.inline.append(self.selection_set(nesting + 1))

    def document(self) -> tuple[list[Selections], dict[str, Selections]]:
        operations: list[Selections] = []
        fragments: dict[str, Selections] = {}
        tokens = self.tokens
        while tokens[self.at]:
            token = tokens[self.at]
            if token == "fragment":
                self.at += 1
                name = self.take()
                if self.take() != "on":
                    raise Unfollowable
                self.take()
                self.skip_directives()
                fragments.setdefault(name, self.selection_set(1))
            elif token == "{":
                operations.append(self.selection_set(1))
            elif token in OPERATION_KEYWORDS:
                while tokens[self.at] and tokens[self.at] not in ("{", "("):
                    self.at += 1
                if tokens[self.at] == "(":
                    self.skip_group()
                self.skip_directives()
                operations.append(self.selection_set(1))
            else:
                raise Unfollowable
        return operations, fragments


def _is_name(token: str) -> bool:
    return token[:1] == "_" or token[:1].isalpha()


# (depth, aliases, fields, width): a tuple, as the measurer builds one per selection set.
Figures = tuple[int, int, int, int]
NOTHING: Figures = (0, 0, 0, 0)


class _Measurer:
    def __init__(self, fragments: dict[str, Selections]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Figures] = {}
        self.active: set[str] = set()

    def fragment(self, name: str) -> Figures:
        found = self.memo.get(name)
        if found is not None:
            return found
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            # Unknown fragments and cycles are validation errors; count them as nothing here.
            return NOTHING
        if len(self.active) >= MAX_NESTING:
            raise TooDeep
        self.active.add(name)
        figures = self.selections(definition)
        self.active.discard(name)
        self.memo[name] = figures
        return figures

    def selections(self, selections: Selections) -> Figures:
        depth = aliases = fields = width = 0
        for aliased, introspection, inner_selections in selections.fields:
            width += 1
            fields += 1
            aliases += aliased
            if inner_selections is None:
                depth = depth or 1
                continue
            inner_depth, inner_aliases, inner_fields, _ = self.selections(inner_selections)
            depth = max(depth, 1 if introspection else 1 + inner_depth)
            aliases += inner_aliases
            fields += inner_fields
        for name in selections.spreads:
            inner_depth, inner_aliases, inner_fields, inner_width = self.fragment(name)
            depth = max(depth, inner_depth)
            aliases += inner_aliases
            fields += inner_fields
            width += inner_width
        for inline in selections.inline:
            inner_depth, inner_aliases, inner_fields, inner_width = self.selections(inline)
            depth = max(depth, inner_depth)
            aliases += inner_aliases
            fields += inner_fields
            width += inner_width
        return depth, aliases, fields, width


def _error(message: str) -> GraphQLError:
    return GraphQLError(message)


def check(text: str, limits: Limits) -> tuple[list[GraphQLError], list[GraphQLError]]:
    """(lexical errors, limit errors) for a document's text: the first kind is reported as a
    parse failure, the second as a validation failure. Both are empty for a document within
    its limits or one only the parser can judge."""
    if len(text) > limits.max_source_length:
        return [
            _error(
                f"Syntax Error: Document is {len(text)} characters long; the limit is "
                f"{limits.max_source_length} characters."
            )
        ], []
    tokens = TOKEN.findall(text)
    comments = sum(1 for token in tokens if token[0] == "#")
    if comments > limits.max_comments:
        return [
            _error(f"Syntax Error: Document contains more than {limits.max_comments} comments.")
        ], []
    if comments:
        tokens = [token for token in tokens if token[0] != "#"]
    if len(tokens) > limits.max_tokens:
        return [
            _error(
                f"Syntax Error: Document contains more than {limits.max_tokens} tokens. "
                "Parsing aborted."
            )
        ], []
    try:
        operations, fragments = _Walker(tokens).document()
        measurer = _Measurer(fragments)
        errors = []
        for operation in operations:
            errors += _over_limits(Shape(*measurer.selections(operation)), limits)
    except Unfollowable:
        return [], []
    except TooDeep:
        return [], [_error(f"The operation nests selections more than {MAX_NESTING} deep.")]
    return [], errors


def _over_limits(shape: Shape, limits: Limits) -> list[GraphQLError]:
    figures = (
        (shape.depth, limits.max_depth, "is {} levels deep", "levels"),
        (shape.aliases, limits.max_aliases, "has {} aliases", "aliases"),
        (shape.width, limits.max_root_fields, "has {} root fields", "root fields"),
        (shape.fields, limits.max_fields, "has {} fields with fragments expanded", "fields"),
    )
    return [
        _error(f"The operation {what.format(value)}; the limit is {limit} {unit}.")
        for value, limit, what, unit in figures
        if value > limit
    ]
