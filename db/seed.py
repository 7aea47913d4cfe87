"""The deterministic demo and benchmark catalog: same ids, slugs and prices on every run."""

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import ProductStatus, categories, images, products, variants
from db.search.bulk import deferred

DEFAULT_PRODUCTS = 20_000
CHUNK = 5_000
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# Told (stage, rows written, rows in all) after each chunk: the stage is the table being filled,
# then "analyse" while PostgreSQL gathers statistics. Whoever runs the seed decides what to show.
Progress = Callable[[str, int, int], None]


def _silent(stage: str, done: int, total: int) -> None:
    pass


TREE: dict[str, dict[str, str]] = {
    "Electronics": {
        "Laptops": "Laptop",
        "Headphones": "Headphones",
        "Cameras": "Camera",
        "Smartphones": "Phone",
    },
    "Home & Kitchen": {
        "Cookware": "Pan",
        "Furniture": "Chair",
        "Lighting": "Lamp",
        "Bedding": "Duvet",
    },
    "Fashion": {"Shoes": "Sneaker", "Jackets": "Jacket", "Bags": "Backpack", "Watches": "Watch"},
    "Sports & Outdoors": {
        "Camping": "Tent",
        "Cycling": "Bike Helmet",
        "Fitness": "Dumbbell",
        "Running": "Running Shoe",
    },
    "Toys & Games": {
        "Board Games": "Board Game",
        "Puzzles": "Puzzle",
        "Building Sets": "Brick Set",
        "Plush Toys": "Plush Bear",
    },
    "Books": {
        "Fiction": "Novel",
        "Cookbooks": "Cookbook",
        "Travel Guides": "Travel Guide",
        "Comics": "Graphic Novel",
    },
    "Beauty": {
        "Skincare": "Face Cream",
        "Fragrance": "Eau de Parfum",
        "Hair Care": "Shampoo",
        "Makeup": "Lipstick",
    },
    "Garden": {
        "Tools": "Pruner",
        "Planters": "Planter",
        "Outdoor Furniture": "Bench",
        "Grills": "Grill",
    },
    "Office": {
        "Desks": "Desk",
        "Stationery": "Notebook",
        "Office Chairs": "Office Chair",
        "Storage": "Filing Cabinet",
    },
    "Pets": {
        "Dog Supplies": "Dog Bed",
        "Cat Supplies": "Cat Tree",
        "Aquariums": "Aquarium",
        "Bird Supplies": "Bird Feeder",
    },
}
LEAF_KINDS = ("Everyday", "Premium", "Compact", "Eco", "Pro")
ADJECTIVES = (
    "Classic",
    "Modern",
    "Rustic",
    "Sleek",
    "Vintage",
    "Bold",
    "Cozy",
    "Urban",
    "Nordic",
    "Bright",
    "Quiet",
    "Swift",
    "Sturdy",
    "Gentle",
    "Royal",
    "Smart",
)
MATERIALS = (
    "Oak",
    "Steel",
    "Cotton",
    "Leather",
    "Bamboo",
    "Carbon",
    "Wool",
    "Ceramic",
    "Linen",
    "Walnut",
    "Aluminium",
    "Canvas",
    "Granite",
    "Silk",
    "Copper",
    "Cedar",
)
COLORS = ("Black", "White", "Red", "Blue", "Green", "Grey", "Sand", "Olive")
SIZES = ("XS", "S", "M", "L", "XL")


def slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


@dataclass(slots=True)
class Catalog:
    categories: list[dict[str, Any]]
    products: list[dict[str, Any]]
    variants: list[dict[str, Any]]
    images: list[dict[str, Any]]


def _category(
    cid: int, name: str, slug: str, parent: dict[str, Any] | None, position: int, at: datetime
) -> dict[str, Any]:
    path = f"{parent['path'] if parent else '/'}{cid}/"
    return {
        "id": cid,
        "slug": slug,
        "name": name,
        "parent_id": parent["id"] if parent else None,
        "description": f"Everything in {name}.",
        "position": position,
        "level": parent["level"] + 1 if parent else 0,
        "path": path,
        "created_at": at,
        "updated_at": at,
    }


def build_categories() -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Roots first, then mid-level, then leaves; returns the rows and (leaf, product noun) pairs."""
    rows: list[dict[str, Any]] = []
    roots = [_category(i + 1, name, slugify(name), None, i, EPOCH) for i, name in enumerate(TREE)]
    rows += roots
    mids: list[tuple[dict[str, Any], str]] = []
    for root, children in zip(roots, TREE.values(), strict=True):
        for position, (name, noun) in enumerate(children.items()):
            mid = _category(len(rows) + 1, name, slugify(name), root, position, EPOCH)
            rows.append(mid)
            mids.append((mid, noun))
    leaves: list[tuple[dict[str, Any], str]] = []
    for mid, noun in mids:
        for position, kind in enumerate(LEAF_KINDS):
            name = f"{kind} {mid['name']}"
            leaf = _category(len(rows) + 1, name, slugify(name), mid, position, EPOCH)
            rows.append(leaf)
            leaves.append((leaf, noun))
    return rows, leaves


def _money(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def build_catalog(product_count: int = DEFAULT_PRODUCTS, seed: int = 2026) -> Catalog:
    rng = random.Random(seed)
    category_rows, leaves = build_categories()
    catalog = Catalog(category_rows, [], [], [])
    for index in range(product_count):
        pid = index + 1
        leaf, noun = leaves[index % len(leaves)]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {noun}"
        at = EPOCH + timedelta(minutes=7 * index)
        prices = _variants(catalog, rng, pid, name, at)
        catalog.products.append(
            {
                "id": pid,
                "slug": f"{slugify(name)}-{pid}",
                "name": name,
                "description": f"The {name.lower()}: a {leaf['name'].lower()} favourite.",
                "status": ProductStatus.DRAFT if rng.random() < 0.05 else ProductStatus.ACTIVE,
                "category_id": leaf["id"],
                "currency": "USD",
                "min_price": min(p for p, _ in prices),
                "max_price": max(p for p, _ in prices),
                "in_stock": any(q > 0 for _, q in prices),
                "created_at": at,
                "updated_at": at,
            }
        )
        for position in range(rng.randint(1, 4)):
            catalog.images.append(
                {
                    "id": len(catalog.images) + 1,
                    "product_id": pid,
                    "position": position,
                    "url": f"https://images.example.com/products/{pid}/{position + 1}.jpg",
                    "alt": f"{name}, view {position + 1}",
                    "width": 1200,
                    "height": 1200,
                }
            )
    return catalog


def _variants(
    catalog: Catalog, rng: random.Random, pid: int, name: str, at: datetime
) -> list[tuple[Decimal, int]]:
    base = rng.randint(500, 99_999)
    color = rng.choice(COLORS)
    out: list[tuple[Decimal, int]] = []
    for position in range(rng.randint(1, 5)):
        price = _money(base + position * rng.randint(0, 2_000))
        quantity = 0 if rng.random() < 0.1 else rng.randint(1, 100)
        size = SIZES[position]
        compare_at = _money(int(price * 125)) if rng.random() < 0.2 else None
        catalog.variants.append(
            {
                "id": len(catalog.variants) + 1,
                "product_id": pid,
                "sku": f"SKU-{pid:06d}-{size}",
                "name": f"{name} / {color} / {size}",
                "position": position,
                "selected_options": [
                    {"name": "Color", "value": color},
                    {"name": "Size", "value": size},
                ],
                "price": price,
                "compare_at_price": compare_at,
                "currency": "USD",
                "quantity": quantity,
                "created_at": at,
                "updated_at": at,
            }
        )
        out.append((price, quantity))
    return out


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _insert(connection: AsyncConnection, catalog: Catalog, progress: Progress) -> int:
    """Writes the catalog; returns how many rows."""
    tables = (
        (categories, catalog.categories),
        (products, catalog.products),
        (variants, catalog.variants),
        (images, catalog.images),
    )
    total, done = sum(len(rows) for _, rows in tables), 0
    for table, rows in tables:
        progress(table.name, done, total)
        for chunk in _chunks(rows):
            await connection.execute(insert(table), list(chunk))
            done += len(chunk)
            progress(table.name, done, total)
    if connection.dialect.name == "postgresql":
        for table in (categories, products, variants, images):
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
                )
            )
    return total


async def seed(
    engine: AsyncEngine, product_count: int = DEFAULT_PRODUCTS, progress: Progress = _silent
) -> bool:
    """Seed an empty catalog; returns False, changing nothing, when categories already exist."""
    async with engine.begin() as connection:
        existing = await connection.scalar(select(func.count()).select_from(categories))
        if existing:
            return False
        async with deferred(connection):
            rows = await _insert(connection, build_catalog(product_count), progress)
    if engine.dialect.name == "postgresql":
        progress("analyse", rows, rows)
        # Fresh tables have no statistics (the planner guessed 15 rows for 20,000) and no
        # visibility map (no index-only scans); autovacuum may be off or late.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    return True
