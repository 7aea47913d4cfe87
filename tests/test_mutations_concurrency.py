"""Writes that race: stock never goes below zero, and optimistic checks let one writer win."""

import asyncio

from tests.support import Api, ChangeLog
from tests.test_mutations_products import UPDATE, create
from tests.test_mutations_variants import STOCK, variant


async def test_fifty_concurrent_decrements_of_thirty_in_stock(editor: Api, admin: Api) -> None:
    product = await create(editor)
    made = await variant(editor, product["id"], quantity=30)
    log = ChangeLog(admin)
    await log.mark()
    results = await asyncio.gather(
        *(editor.query(STOCK, {"id": made["id"], "delta": -1}) for _ in range(50))
    )
    payloads = [r.data["stockAdjust"] for r in results]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(refused) == 20
    assert {p["userErrors"][0]["code"] for p in refused} == {"INSUFFICIENT_STOCK"}
    left = sorted(p["variant"]["quantityAvailable"] for p in payloads if not p["userErrors"])
    assert left == list(range(30))
    variant_changes = [c for c in await log.since_mark() if c["entityType"] == "ProductVariant"]
    assert len(variant_changes) == 30
    sequences = [c["sequence"] for c in await log.since_mark()]
    assert sequences == sorted(sequences)


async def test_two_updates_with_the_same_expected_timestamp(editor: Api) -> None:
    product = await create(editor)
    expected = product["updatedAt"]
    results = await asyncio.gather(
        *(
            editor.query(
                UPDATE, {"id": product["id"], "input": {"name": name}, "expected": expected}
            )
            for name in ("First", "Second")
        )
    )
    codes = sorted(e["code"] for r in results for e in r.data["productUpdate"]["userErrors"])
    assert codes == ["CONFLICT"]
    winners = [
        r.data["productUpdate"]["product"] for r in results if r.data["productUpdate"]["product"]
    ]
    assert len(winners) == 1
