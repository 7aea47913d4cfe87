"""Persisted documents: Apollo's automatic persisted queries, cacheable GETs by hash, and the
operator's trusted documents as the only ones allowed."""

import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import ROOT, shared_redis
from tests.conftest import serving, token

APQ_DB = 11
QUERY = "query Roots { categories(rootsOnly: true, first: 3) { edges { node { name } } } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(text)}}


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


def get_params(text: str) -> dict[str, str]:
    return {"extensions": orjson.dumps(persisted(text)).decode()}


async def test_automatic_persisted_query_round_trip(client: httpx.AsyncClient) -> None:
    text = QUERY + " # apq round trip"
    missing = await client.post("/graphql", json={"extensions": persisted(text)})
    assert missing.status_code == 200
    assert codes(missing) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert missing.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.post("/graphql", json={"query": text, "extensions": persisted(text)})
    assert registered.status_code == 200
    names = [e["node"]["name"] for e in registered.json()["data"]["categories"]["edges"]]
    assert len(names) == 3

    by_hash = await client.get("/graphql", params=get_params(text))
    assert by_hash.status_code == 200
    assert by_hash.json()["data"] == registered.json()["data"]
    assert by_hash.headers["cache-control"] == "public, max-age=0"
    tag = by_hash.headers["etag"]
    revalidated = await client.get(
        "/graphql", params=get_params(text), headers={"if-none-match": tag}
    )
    assert revalidated.status_code == 304
    assert revalidated.content == b""


async def test_a_get_with_a_token_is_private(client: httpx.AsyncClient, settings: Settings) -> None:
    editor = {"authorization": f"Bearer {token(settings, Role.EDITOR)}"}
    response = await client.get("/graphql", params={"query": QUERY}, headers=editor)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert "etag" not in response.headers
    assert "cache-control" not in (await client.post("/graphql", json={"query": QUERY})).headers


async def test_a_hash_that_is_not_the_query_is_refused(client: httpx.AsyncClient) -> None:
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha("something else")}}
    response = await client.post("/graphql", json={"query": QUERY, "extensions": wrong})
    assert codes(response) == ["BAD_USER_INPUT"]
    for bad in ({"version": 2, "sha256Hash": sha(QUERY)}, {"version": 1, "sha256Hash": "x"}, 7):
        response = await client.post("/graphql", json={"extensions": {"persistedQuery": bad}})
        assert codes(response) == ["BAD_USER_INPUT"], bad


async def test_gateways_sharing_redis_share_persisted_queries(settings: Settings) -> None:
    shared = settings.model_copy(update={"redis_url": shared_redis(APQ_DB)})
    text = QUERY + " # shared"
    async with serving(shared) as one, serving(shared) as two:
        await one.post("/graphql", json={"query": text, "extensions": persisted(text)})
        response = await two.get("/graphql", params=get_params(text))
        assert "data" in response.json(), response.json()


def add_documents(settings: Settings, *files: Path) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": settings.database_url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "graph.cli", "documents", "add", *map(str, files)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_only_trusted_documents_run_when_so_configured(
    settings: Settings, tmp_path: Path
) -> None:
    trusted_text = QUERY + " # trusted"
    (tmp_path / "roots.graphql").write_text(trusted_text)
    manifest = {"menu-v1": "{ categories(first: 2) { edges { node { slug } } } }"}
    (tmp_path / "manifest.json").write_bytes(orjson.dumps(manifest))
    added = add_documents(settings, tmp_path / "roots.graphql", tmp_path / "manifest.json")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "registered 2 trusted documents"

    (tmp_path / "bad.graphql").write_text("{ nope }")
    refused = add_documents(settings, tmp_path / "bad.graphql")
    assert refused.returncode != 0
    assert "nope" in refused.stderr

    only = settings.model_copy(update={"trusted_documents_only": True})
    async with serving(only) as client:
        assert "data" in (await client.post("/graphql", json={"query": trusted_text})).json()
        by_hash = await client.post("/graphql", json={"extensions": persisted(trusted_text)})
        assert "data" in by_hash.json(), by_hash.json()
        by_id = await client.post("/graphql", json={"documentId": "menu-v1"})
        assert len(by_id.json()["data"]["categories"]["edges"]) == 2
        get_by_id = await client.get("/graphql", params={"documentId": "menu-v1"})
        assert get_by_id.json()["data"] == by_id.json()["data"]

        unknown = "{ categories(first: 1) { totalCount } }"
        assert codes(await client.post("/graphql", json={"query": unknown})) == ["FORBIDDEN"]
        register = {"query": unknown, "extensions": persisted(unknown)}
        assert codes(await client.post("/graphql", json=register)) == ["FORBIDDEN"]
        hash_only = {"extensions": persisted(unknown)}
        assert codes(await client.post("/graphql", json=hash_only)) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert codes(await client.post("/graphql", json={"documentId": "menu-v2"})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]
