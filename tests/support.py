"""Shared helpers: the GraphQL client the tests use, and the seeded catalog as an oracle."""

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from db.models import ProductStatus
from db.seed import Catalog

WORKLOADS = Path(__file__).resolve().parents[1] / "bench" / "workloads"
SEED_PRODUCTS = 1_000
WRITE_SEED_PRODUCTS = 200


def workload(name: str) -> str:
    return next(WORKLOADS.glob(f"{name}-*.graphql")).read_text()


@dataclass
class Result:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> Any:
        assert "errors" not in self.body, self.body["errors"]
        return self.body["data"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors", []))

    @property
    def codes(self) -> list[str]:
        return [e["extensions"]["code"] for e in self.errors]

    @property
    def sql(self) -> int:
        return int(self.body["extensions"]["sqlStatements"])


class Api:
    def __init__(self, client: httpx.AsyncClient, token: str | None = None) -> None:
        self.client = client
        self.headers = {"authorization": f"Bearer {token}"} if token else {}

    async def query(self, document: str, variables: dict[str, Any] | None = None) -> Result:
        response = await self.client.post(
            "/graphql",
            json={"query": document, "variables": variables or {}},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return Result(response.status_code, response.json())


class Oracle:
    """Answers from the seed's own rows, computed without the database."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.categories = {c["id"]: c for c in catalog.categories}
        self.products = {p["id"]: p for p in catalog.products}

    def public(self, product: dict[str, Any]) -> bool:
        return bool(product["status"] is ProductStatus.ACTIVE)

    def subtree(self, category_id: int) -> set[int]:
        path = self.categories[category_id]["path"]
        return {c["id"] for c in self.catalog.categories if c["path"].startswith(path)}

    def products_in(self, category_id: int) -> list[dict[str, Any]]:
        ids = self.subtree(category_id)
        return [p for p in self.catalog.products if p["category_id"] in ids and self.public(p)]

    def by_slug(self, slug: str) -> dict[str, Any]:
        return next(p for p in self.catalog.products if p["slug"] == slug)

    def category_by_slug(self, slug: str) -> dict[str, Any]:
        return next(c for c in self.catalog.categories if c["slug"] == slug)


def money(value: Decimal) -> str:
    return str(value)


LATEST_CHANGE = "{ changes(last: 1) { edges { cursor node { sequence } } } }"
CHANGES_AFTER = """query($after: String) { changes(first: 100, after: $after) {
  edges { node { sequence entityType entityId kind changedFields categoryIds actor } }
  pageInfo { hasNextPage endCursor } } }"""


class ChangeLog:
    """Reads the change log through the API, as an admin would."""

    def __init__(self, admin: Api) -> None:
        self.admin = admin
        self.cursor: str | None = None

    async def mark(self) -> None:
        edges = (await self.admin.query(LATEST_CHANGE)).data["changes"]["edges"]
        self.cursor = edges[0]["cursor"] if edges else None

    async def since_mark(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = self.cursor
        while True:
            page = (await self.admin.query(CHANGES_AFTER, {"after": after})).data["changes"]
            found.extend(edge["node"] for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]


JOB = "query($id: ID!) { job(id: $id) { status progress result error attempts } }"


async def finished(api: "Api", job_id: str, seconds: float = 90) -> dict[str, Any]:
    """The job once it has SUCCEEDED or FAILED, polled through the API."""
    deadline = time.monotonic() + seconds
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = (await api.query(JOB, {"id": job_id})).data["job"]
        if job["status"] in ("SUCCEEDED", "FAILED"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")
