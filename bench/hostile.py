"""Hostile documents, as an attacker would send them; the tests and `make bench --abuse` share them.

Each entry: a name, the document, the code the gateway must refuse it with, and a piece of the
message that names the limit.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    document: str
    code: str
    names_limit: str


def doubling_fragments(k: int) -> str:
    spreads = " ".join(f"fragment E{i} on Query {{ ...E{i + 1} ...E{i + 1} }}" for i in range(k))
    return f"{{ ...E0 }} {spreads} fragment E{k} on Query {{ __typename }}"


def nested_doubling_fragments(k: int) -> str:
    on = "ProductConnection"
    spreads = " ".join(f"fragment E{i} on {on} {{ ...E{i + 1} ...E{i + 1} }}" for i in range(k))
    return f"{{ products {{ ...E0 }} }} {spreads} fragment E{k} on {on} {{ totalCount }}"


def typename_aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"


def schema_aliases(n: int) -> str:
    each = "__schema { types { fields { args { name } } } }"
    return "{ " + " ".join(f"s{i}: {each}" for i in range(n)) + " }"


def repeated_total_counts(n: int) -> str:
    return "{ " + "products{totalCount} " * n + "}"


def many_fragments(n: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(n))
    fragments = " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(n))
    return f"{{ {spreads} }} {fragments}"


def many_nested_fragments(n: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(n))
    fragments = " ".join(f"fragment F{i} on Product {{ name }}" for i in range(n))
    return f'{{ product(slug: "x") {{ {spreads} }} }} {fragments}'


def many_tokens(n: int) -> str:
    return "{ " + "__typename " * n + "}"


TREE = """{ categories(first: 100) { edges { node { name products(first: 100) { edges { node {
  name variants { sku price { amount } } images { url } category { ancestors { name } }
} } } } } } }"""

VALIDATION = "GRAPHQL_VALIDATION_FAILED"
PARSE = "GRAPHQL_PARSE_FAILED"


def documents() -> list[Hostile]:
    return [
        Hostile("fragment doubling k=30", doubling_fragments(30), VALIDATION, "20 root fields"),
        Hostile(
            "nested fragment doubling k=30",
            nested_doubling_fragments(30),
            VALIDATION,
            "1000 fields",
        ),
        Hostile("3,000 __typename aliases", typename_aliases(3_000), VALIDATION, "30 aliases"),
        Hostile("200 aliased __schema", schema_aliases(200), VALIDATION, "30 aliases"),
        Hostile(
            "2,490 x products{totalCount}",
            repeated_total_counts(2_490),
            VALIDATION,
            "20 root fields",
        ),
        Hostile("1,000 fragments", many_fragments(1_000), VALIDATION, "20 root fields"),
        Hostile("1,000 nested fragments", many_nested_fragments(1_000), VALIDATION, "1000 fields"),
        Hostile("100,000 tokens", many_tokens(100_000), PARSE, "200000 characters"),
        Hostile("10,001 tokens", many_tokens(10_001), PARSE, "10000 tokens"),
        Hostile("the 100 x 100 tree", TREE, "OPERATION_TOO_COSTLY", "the limit is 10000"),
    ]
