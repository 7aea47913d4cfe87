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
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class Selections:
    """A selection set as the walk saw it: its fields' figures and what it spreads."""

    fields: list[tuple[bool, bool, "Selections | None"]] = field(default_factory=list)
    spreads: list[str] = field(default_factory=list)
    inline: list["Selections"] = field(default_factory=list)


class Unfollowable(Exception):
    """Not a document the walk understands; the parser will say what is wrong with it."""


class TooDeep(Exception):
    pass


class _Walker:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self, offset: int = 0) -> str:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        if not token:
            raise Unfollowable
        self.at += 1
        return token

    def skip_group(self) -> None:
        """Skips a balanced (...) or [...] starting at the current token."""
        opening = self.take()
        closing = ")" if opening == "(" else "]"
        level = 1
        while level:
            token = self.take()
            if token == opening:
                level += 1
            elif token == closing:
                level -= 1

    def skip_directives(self) -> None:
        while self.peek() == "@":
            self.at += 2
            if self.peek() == "(":
                self.skip_group()

    def selection_set(self, nesting: int) -> Selections:
        if nesting > MAX_NESTING:
            raise TooDeep
        if self.take() != "{":
            raise Unfollowable
        found = Selections()
        while self.peek() != "}":
            token = self.take()
            if token == "...":
                self._fragment(found, nesting)
                continue
            if not _is_name(token):
                raise Unfollowable
            aliased = self.peek() == ":"
            if aliased:
                self.at += 1
                token = self.take()
            if self.peek() == "(":
                self.skip_group()
            self.skip_directives()
            inner = self.selection_set(nesting + 1) if self.peek() == "{" else None
            found.fields.append((aliased, token in INTROSPECTION_ROOTS, inner))
        self.at += 1
        return found

    def _fragment(self, found: Selections, nesting: int) -> None:
        if self.peek() == "on" and _is_name(self.peek(1)):
            self.at += 2
        elif _is_name(self.peek()) and self.peek() != "on":
            found.spreads.append(self.take())
            self.skip_directives()
            return
        self.skip_directives()
        found.inline.append(self.selection_set(nesting + 1))

    def document(self) -> tuple[list[Selections], dict[str, Selections]]:
        operations: list[Selections] = []
        fragments: dict[str, Selections] = {}
        while self.peek():
            token = self.peek()
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
                while self.peek() and self.peek() not in ("{", "("):
                    self.at += 1
                if self.peek() == "(":
                    self.skip_group()
                self.skip_directives()
                operations.append(self.selection_set(1))
            else:
                raise Unfollowable
        return operations, fragments


def _is_name(token: str) -> bool:
    return token[:1] == "_" or token[:1].isalpha()


class _Measurer:
    def __init__(self, fragments: dict[str, Selections]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Shape] = {}
        self.active: set[str] = set()

    def fragment(self, name: str) -> Shape:
        found = self.memo.get(name)
        if found is not None:
            return found
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            # Unknown fragments and cycles are validation errors; count them as nothing here.
            return EMPTY
        if len(self.active) >= MAX_NESTING:
            raise TooDeep
        self.active.add(name)
        shape = self.selections(definition)
        self.active.discard(name)
        self.memo[name] = shape
        return shape

    def selections(self, selections: Selections) -> Shape:
        depth = aliases = fields = width = 0
        for aliased, introspection, inner_selections in selections.fields:
            inner = EMPTY if inner_selections is None else self.selections(inner_selections)
            depth = max(depth, 1 + (0 if introspection else inner.depth))
            aliases += inner.aliases + aliased
            fields += inner.fields + 1
            width += 1
        nested = [self.fragment(name) for name in selections.spreads]
        nested += [self.selections(inline) for inline in selections.inline]
        for inner in nested:
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
            width += inner.width
        return Shape(depth, aliases, fields, width)


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
            errors += _over_limits(measurer.selections(operation), limits)
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
