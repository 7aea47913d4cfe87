"""The schema as a contract with its clients: what changed since the last released schema
(`schema.baseline.graphql`, moved on only by `make schema-release`), in graphql-core's terms."""

import warnings
from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes

BASELINE = Path(__file__).resolve().parents[1] / "schema.baseline.graphql"
RELEASE = (
    "If the break is meant (a new major version, clients told), release the schema: "
    "`make schema-release`, and commit schema.baseline.graphql with it."
)


class DangerousSchemaChange(UserWarning):
    """A change that can surprise some clients (an added enum value, a new optional argument,
    a changed default) but breaks none: shown in the test summary, not failed (pyproject.toml
    lets this category through as "default" while every other warning is an error)."""


def compare(baseline_sdl: str, current_sdl: str) -> tuple[list[str], list[str]]:
    """(breaking, dangerous) changes from the baseline to the current schema, one line each."""
    old, new = build_schema(baseline_sdl), build_schema(current_sdl)
    breaking = [f"{c.type.name}: {c.description}" for c in find_breaking_changes(old, new)]
    dangerous = [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(old, new)]
    return breaking, dangerous


def check(baseline_sdl: str, current_sdl: str) -> None:
    """Fails on a breaking change with the list of them; warns about each dangerous one."""
    breaking, dangerous = compare(baseline_sdl, current_sdl)
    for change in dangerous:
        warnings.warn(f"schema change since the release: {change}", DangerousSchemaChange, 2)
    if breaking:
        listed = "\n".join(f"  - {change}" for change in breaking)
        raise AssertionError(
            f"{len(breaking)} breaking change(s) since the released schema "
            f"({BASELINE.name}):\n{listed}\n{RELEASE}"
        )
