"""No change to the schema breaks a client of the last release unless it is released on
purpose; dangerous changes are shown."""

import pytest

from graph.schema import public_sdl
from tests.schema_contract import BASELINE, DangerousSchemaChange, check

RELEASED = """
type Query { product(id: ID!): Product  products(first: Int): [Product!]! }
type Product { id: ID!  name: String!  status: Status! }
enum Status { DRAFT ACTIVE }
"""


def test_the_schema_breaks_no_client_of_the_released_one() -> None:
    check(BASELINE.read_text(), public_sdl())


def test_a_breaking_change_fails_with_a_readable_list() -> None:
    broken = RELEASED.replace("name: String!", "").replace("id: ID!)", "id: ID!, lang: String!)")
    with pytest.raises(AssertionError) as failed:
        check(RELEASED, broken)
    lines = str(failed.value).splitlines()
    assert lines[0] == "2 breaking change(s) since the released schema (schema.baseline.graphql):"
    assert sorted(lines[1:3]) == [
        "  - FIELD_REMOVED: Field Product.name was removed.",
        "  - REQUIRED_ARG_ADDED: A required argument Query.product(lang:) was added.",
    ]
    assert "make schema-release" in str(failed.value)


def test_a_dangerous_change_warns_and_passes() -> None:
    grown = RELEASED.replace("DRAFT ACTIVE", "DRAFT ACTIVE ARCHIVED")
    with pytest.warns(
        DangerousSchemaChange, match="VALUE_ADDED_TO_ENUM: Enum value Status.ARCHIVED"
    ):
        check(RELEASED, grown)
