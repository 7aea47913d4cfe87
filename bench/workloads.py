"""The workload documents and the variables each one is sent with, gathered from the server."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client import GraphQLClient, QueryFailed

Variables = dict[str, Any]

PRODUCT_SLUGS = """
query BenchProductSlugs($after: String) {
  products(first: 100, after: $after) {
    edges { node { slug } }
    pageInfo { endCursor hasNextPage }
  }
}"""
CATEGORY_SLUGS = "{ categories(first: 100) { edges { node { slug level } } } }"
PRODUCT_PAGES = 2
LISTING_LEVELS = (0, 1)
LEAF_LEVEL = 2
# P3 starts past the 10 roots and 40 mid-level categories, at the leaves.
MENU_START = "{ categories(first: 50) { pageInfo { endCursor } } }"


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    document: str
    # None: the workload takes no variables; otherwise workers pick from these at random.
    choices: list[Variables] | None

    def first_choices(self, count: int) -> "Workload":
        choices = None if self.choices is None else self.choices[:count]
        return Workload(self.name, self.document, choices)


def documents(directory: Path, names: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        matches = sorted(directory.glob(f"{name}-*.graphql"))
        if not matches:
            raise FileNotFoundError(f"no {name}-*.graphql in {directory}")
        found[name] = matches[0].read_text()
    return found


async def product_slugs(client: GraphQLClient) -> list[str]:
    slugs: list[str] = []
    after: str | None = None
    for _ in range(PRODUCT_PAGES):
        page = (await client.data(PRODUCT_SLUGS, {"after": after}))["products"]
        slugs += [edge["node"]["slug"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    return slugs


async def listing_slugs(client: GraphQLClient) -> list[str]:
    edges = (await client.data(CATEGORY_SLUGS))["categories"]["edges"]
    return [e["node"]["slug"] for e in edges if e["node"]["level"] in LISTING_LEVELS]


async def leaf_slugs(client: GraphQLClient) -> list[str]:
    edges = (await client.data(CATEGORY_SLUGS))["categories"]["edges"]
    return [e["node"]["slug"] for e in edges if e["node"]["level"] == LEAF_LEVEL]


async def _next_page(client: GraphQLClient, w2: str, slug: str) -> Variables | None:
    category = (await client.data(w2, {"slug": slug}))["category"]
    info = category["products"]["pageInfo"] if category else None
    if info and info["hasNextPage"] and info["endCursor"]:
        return {"slug": slug, "after": info["endCursor"]}
    return None


async def next_pages(client: GraphQLClient, w2: str, slugs: list[str]) -> list[Variables]:
    """W4's variables: each listing's slug with the end cursor of its first page, if it has more."""
    # All at once: the client's connection limit keeps this at the benchmark's concurrency.
    found = await asyncio.gather(*(_next_page(client, w2, slug) for slug in slugs))
    return [variables for variables in found if variables is not None]


def searches(slugs: list[str], filtered: bool) -> list[Variables]:
    """What shoppers type, from product names (a slug is the name's words, then the id): a
    word, two words, a 3-letter prefix, a word with one letter dropped; S3 half of them with a
    filter too."""
    texts: list[str] = []
    for slug in slugs:
        words = [w for w in slug.split("-")[:-1] if w.isalpha()]
        if len(words) < 2:
            continue
        last = words[-1]
        texts += [
            last,
            f"{words[0]} {last}",
            last[:3],
            last[:2] + last[3:] if len(last) > 4 else last,
        ]
    out: list[Variables] = []
    for i, text in enumerate(dict.fromkeys(texts)):
        variables: Variables = {"search": text}
        if filtered and i % 2:
            variables["filter"] = {"inStock": True, "maxPrice": "500"}
        out.append(variables)
    return out


async def prepare(client: GraphQLClient, docs: dict[str, str], w2: str) -> list[Workload]:
    """Workloads in the order asked for; `w2` is W2's document, which W4's cursors come from."""
    needs_listings = "W2" in docs or "W4" in docs
    listings = await listing_slugs(client) if needs_listings else []
    prepared: list[Workload] = []
    for name, document in docs.items():
        choices: list[Variables] | None = None
        if name in ("W1", "P1"):
            choices = [{"slug": slug} for slug in await product_slugs(client)]
        elif name == "W2":
            choices = [{"slug": slug} for slug in listings]
        elif name == "W4":
            choices = await next_pages(client, w2, listings)
        elif name == "P2":
            choices = [{"slug": slug} for slug in await leaf_slugs(client)]
        elif name in ("S2", "S3"):
            choices = searches(await product_slugs(client), filtered=name == "S3")
        elif name == "P3":
            page = (await client.data(MENU_START))["categories"]["pageInfo"]
            choices = [{"after": page["endCursor"]}]
        if choices == []:
            raise QueryFailed(f"{name}: the catalog gave no variables to send")
        prepared.append(Workload(name, document, choices))
    return prepared
