"""Without a broker, jobs run inside the gateway process with the same task code."""

import asyncio
from collections import Counter
from decimal import Decimal

from graph import ids
from tests.support import JOB, Api, ChangeLog, finished

BULK = """mutation($c: ID!, $p: Decimal, $a: Decimal) {
  productsBulkPriceUpdate(categoryId: $c, percent: $p, amount: $a) {
    job { id status createdBy } userErrors { field code } } }"""
PRICES = """query($c: ID!) { category(id: $c) { products(first: 100) {
  edges { node { variants { id price { amount } } } } } } }"""


async def variant_prices(api: Api, category: str) -> dict[str, str]:
    data = (await api.query(PRICES, {"c": category})).data["category"]["products"]["edges"]
    return {v["id"]: v["price"]["amount"] for e in data for v in e["node"]["variants"]}


async def test_bulk_job_runs_in_process_and_records_every_change(admin: Api) -> None:
    category = ids.encode("Category", 7)
    before = await variant_prices(admin, category)
    log = ChangeLog(admin)
    await log.mark()
    payload = (await admin.query(BULK, {"c": category, "a": "1.00"})).data
    job = payload["productsBulkPriceUpdate"]["job"]
    assert (job["status"], job["createdBy"]) == ("QUEUED", "admin@example.com")
    done = await finished(admin, job["id"])
    assert (done["status"], done["progress"]) == ("SUCCEEDED", 1.0)
    after = await variant_prices(admin, category)
    assert {k: f"{float(v) + 1:.2f}" for k, v in before.items()} == after
    changes = await log.since_mark()
    priced = [c for c in changes if c["entityType"] == "ProductVariant"]
    assert len(priced) == len(before)
    assert {c["changedFields"][0] for c in priced} == {"price"}


async def test_three_jobs_at_once_compose(admin: Api) -> None:
    """Each batch reprices from prices read under its own write lock, so no update is lost."""
    category = ids.encode("Category", 30)
    before = await variant_prices(admin, category)
    log = ChangeLog(admin)
    await log.mark()
    started = await asyncio.gather(
        *(admin.query(BULK, {"c": category, "a": "1.00"}) for _ in range(3))
    )
    for payload in started:
        done = await finished(admin, payload.data["productsBulkPriceUpdate"]["job"]["id"])
        assert done["status"] == "SUCCEEDED", done
        assert done["result"] == {"variantsChanged": len(before), "variantsSeen": len(before)}
    after = await variant_prices(admin, category)
    assert after == {k: str(Decimal(v) + 3) for k, v in before.items()}
    changes = await log.since_mark()
    priced = Counter(c["entityId"] for c in changes)
    assert {k: priced[k] for k in before} == dict.fromkeys(before, 3)


async def test_jobs_are_for_staff(editor: Api, anonymous: Api, admin: Api) -> None:
    job = (await admin.query(BULK, {"c": ids.encode("Category", 8), "p": "0"})).data
    job_id = job["productsBulkPriceUpdate"]["job"]["id"]
    await finished(admin, job_id)  # so no later test finds its changes in the log
    assert (await anonymous.query(JOB, {"id": job_id})).codes == ["UNAUTHENTICATED"]
    assert (await editor.query(JOB, {"id": job_id})).errors == []
    assert (await editor.query("{ jobs(first: 1) { totalCount } }")).codes == ["FORBIDDEN"]
    assert (await editor.query(BULK, {"c": ids.encode("Category", 8), "p": "1"})).codes == [
        "FORBIDDEN"
    ]
    node = await anonymous.query("query($id: ID!) { node(id: $id) { id } }", {"id": job_id})
    assert node.data["node"] is None
