"""The committed schema.graphql is exactly what `gateway export-schema` prints."""

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import GraphQLObjectType, GraphQLScalarType, GraphQLUnionType
from graphql import build_schema as build_public_schema

from graph.cli import main
from graph.schema import build_schema, public_sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == public_sdl() + "\n", "run `make schema` and commit the result"


def test_the_public_sdl_has_nothing_only_a_federation_router_uses() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    subgraph = build_schema().as_str()
    for federation_only in (
        "_entities",
        "_service",
        "_Any",
        "_Entity",
        "@key",
        "@shareable",
        "@link",
    ):
        assert federation_only in subgraph
        assert federation_only not in committed
    # Defined here, where the subgraph SDL imports Federation's.
    assert "directive @cost(weight: Int!) on FIELD_DEFINITION" in committed
    assert "directive @cost" not in subgraph


def test_export_schema_command_prints_the_sdl(tmp_path: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "graph.cli", "export-schema"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    output = tmp_path / "schema.graphql"
    subprocess.run(
        [sys.executable, "-m", "graph.cli", "export-schema", "--output", str(output)],
        check=True,
        cwd=ROOT,
    )
    assert printed == output.read_text() == (ROOT / "schema.graphql").read_text()


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    schema = build_public_schema(public_sdl())
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not graphql_type.description:
            missing.append(name)
        for value_name, value in getattr(graphql_type, "values", {}).items():
            if not value.description:
                missing.append(f"{name}.{value_name}")
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == []


def test_possible_types_name_every_implementation_as_the_readme_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["export-schema", "--possible-types"])
    printed = capsys.readouterr().out
    schema = build_schema()._schema
    expected: dict[str, list[str]] = {}
    for graphql_type in schema.type_map.values():
        if graphql_type.name.startswith("_"):  # GraphQL's own, and Federation's
            continue
        if isinstance(graphql_type, GraphQLObjectType):
            for interface in graphql_type.interfaces:
                expected.setdefault(interface.name, []).append(graphql_type.name)
        elif isinstance(graphql_type, GraphQLUnionType):
            expected[graphql_type.name] = [member.name for member in graphql_type.types]
    assert json.loads(printed) == {name: sorted(types) for name, types in expected.items()}
    # The README's copy, which a client's cache setup is pasted from.
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"--possible-types[^\n]*\n```\n+```json\n(.*?)```", readme, re.DOTALL)
    assert shown is not None, "README: the possibleTypes block after the command"
    assert shown[1] == printed, "paste `gateway export-schema --possible-types` into README.md"


def test_custom_scalars_name_their_specification_and_keep_to_it() -> None:
    types = build_schema()._schema.type_map
    date_time, decimal = types["DateTime"], types["Decimal"]
    assert isinstance(date_time, GraphQLScalarType)
    assert isinstance(decimal, GraphQLScalarType)
    assert date_time.specified_by_url == "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
    assert decimal.specified_by_url == "https://speleotrove.com/decimal/daconvs.html"
    moment = datetime(2026, 1, 31, 10, 0, 0, 500_000, tzinfo=UTC)
    assert date_time.parse_value("2026-01-31t12:00:00.5+02:00") == moment
    assert date_time.serialize(moment) == "2026-01-31T10:00:00.500000Z"
    # ISO 8601 forms outside RFC 3339: basic format, no seconds, an offset without a colon.
    for other in ("20260131T100000Z", "2026-01-31T10:00Z", "2026-01-31T12:00:00+0200"):
        with pytest.raises(ValueError, match="not an RFC 3339 date and time"):
            date_time.parse_value(other)
    assert decimal.parse_value("1.50E+2") == Decimal("150")
    assert decimal.serialize(Decimal("19.90")) == "19.90"
