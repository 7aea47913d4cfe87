"""Tokens from the command line, the production secret guard, and what editors may see."""

import asyncio
import subprocess
import sys

import httpx
import pytest
from pydantic import ValidationError

from graph import ids
from graph.settings import DEVELOPMENT_SECRET, Settings
from tests.support import Api
from tests.test_mutations_products import create

SECRET = "s" * 40


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret=DEVELOPMENT_SECRET)
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(jwt_secret="short")
    assert Settings(environment="production", jwt_secret=SECRET).jwt_secret == SECRET


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", *args], capture_output=True, text=True, check=False
    )


async def test_gateway_token_mints_a_working_token(write_client: httpx.AsyncClient) -> None:
    minted = await asyncio.to_thread(
        gateway, "token", "--role", "admin", "--ttl", "5m", "--subject", "cli-user"
    )
    assert minted.returncode == 0, minted.stderr
    admin = Api(write_client, minted.stdout.strip())
    assert (await admin.query("{ changes(first: 1) { totalCount } }")).errors == []
    bad = await asyncio.to_thread(gateway, "token", "--role", "admin", "--ttl", "soon")
    assert bad.returncode != 0
    assert "90s" in bad.stderr


async def test_editors_see_drafts_everywhere_anonymous_viewers_nowhere(
    editor: Api, anonymous: Api
) -> None:
    draft = await create(editor, categoryId=ids.encode("Category", 12))
    listing = """query($c: ID) { products(first: 100, filter: {categoryId: $c, status: [DRAFT]}) {
      edges { node { id } } } category(id: $c) { productCount
      products(first: 100) { edges { node { id } } } } }"""
    node = "query($id: ID!) { node(id: $id) { id } }"
    lookup = "query($s: String) { product(slug: $s) { id } }"
    variables = {"c": ids.encode("Category", 12)}
    staff = (await editor.query(listing, variables)).data
    public = (await anonymous.query(listing, variables)).data
    assert draft["id"] in [e["node"]["id"] for e in staff["products"]["edges"]]
    assert draft["id"] in [e["node"]["id"] for e in staff["category"]["products"]["edges"]]
    assert staff["category"]["productCount"] == public["category"]["productCount"] + sum(
        1
        for e in staff["category"]["products"]["edges"]
        if e["node"]["id"] not in {n["node"]["id"] for n in public["category"]["products"]["edges"]}
    )
    assert public["products"]["edges"] == []
    assert draft["id"] not in [e["node"]["id"] for e in public["category"]["products"]["edges"]]
    assert (await editor.query(node, {"id": draft["id"]})).data["node"] == {"id": draft["id"]}
    assert (await anonymous.query(node, {"id": draft["id"]})).data["node"] is None
    assert (await editor.query(lookup, {"s": draft["slug"]})).data["product"] is not None
    assert (await anonymous.query(lookup, {"s": draft["slug"]})).data["product"] is None
