"""The committed schema.graphql is exactly what `gateway export-schema` prints."""

import subprocess
import sys
from pathlib import Path

from graph.schema import build_schema

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == build_schema().as_str() + "\n", "run `make schema` and commit the result"


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


def test_every_type_and_field_is_described() -> None:
    schema = build_schema()._schema
    missing = []
    for name, graphql_type in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not graphql_type.description:
            missing.append(name)
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
    assert missing == []
