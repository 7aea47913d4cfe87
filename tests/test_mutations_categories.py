"""The category tree: create, move a subtree (every query right afterwards), delete."""

from typing import Any

from graph import ids
from tests.support import Api, ChangeLog
from tests.test_mutations_products import UPDATE, create

CREATE = """mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) {
  category { id slug level parent { id } ancestors { id } } userErrors { field code } } }"""
UPDATE_CATEGORY = """mutation($id: ID!, $input: CategoryUpdateInput!) { categoryUpdate(id: $id,
  input: $input) { category { id level parent { id } ancestors { id } }
  userErrors { field code } } }"""
DELETE = (
    """mutation($id: ID!) { categoryDelete(id: $id) { deletedCategoryId userErrors { code } } }"""
)
TREE = """query($slug: String) { category(slug: $slug) { id level ancestors { id } productCount
  products(first: 50) { totalCount edges { node { slug } } }
  children { slug level ancestors { id } productCount } } }"""


async def category(admin: Api, slug: str, parent: str | None = None) -> dict[str, Any]:
    given: dict[str, Any] = {"slug": slug, "name": slug.title()}
    if parent:
        given["parentId"] = parent
    payload = (await admin.query(CREATE, {"input": given})).data["categoryCreate"]
    assert payload["userErrors"] == []
    made: dict[str, Any] = payload["category"]
    return made


async def test_move_a_subtree_and_every_query_follows(admin: Api, editor: Api) -> None:
    root_a = await category(admin, "tree-a")
    root_b = await category(admin, "tree-b")
    middle = await category(admin, "tree-middle", root_a["id"])
    leaf = await category(admin, "tree-leaf", middle["id"])
    assert (leaf["level"], [a["id"] for a in leaf["ancestors"]]) == (
        2,
        [root_a["id"], middle["id"]],
    )
    product = await create(editor, categoryId=leaf["id"], status="ACTIVE")
    log = ChangeLog(admin)
    await log.mark()
    moved = await admin.query(
        UPDATE_CATEGORY, {"id": middle["id"], "input": {"parentId": root_b["id"]}}
    )
    assert moved.data["categoryUpdate"]["category"]["level"] == 1
    changes = await log.since_mark()
    assert sorted(c["entityId"] for c in changes) == sorted([leaf["id"], middle["id"]])
    assert all(root_b["id"] in c["categoryIds"] for c in changes)
    tree_b = (await admin.query(TREE, {"slug": "tree-b"})).data["category"]
    assert tree_b["productCount"] == 1
    assert [e["node"]["slug"] for e in tree_b["products"]["edges"]] == [product["slug"]]
    assert tree_b["children"][0]["productCount"] == 1
    tree_a = (await admin.query(TREE, {"slug": "tree-a"})).data["category"]
    assert (tree_a["productCount"], tree_a["products"]["totalCount"], tree_a["children"]) == (
        0,
        0,
        [],
    )
    moved_leaf = (await admin.query(TREE, {"slug": "tree-leaf"})).data["category"]
    assert moved_leaf["level"] == 2
    assert [a["id"] for a in moved_leaf["ancestors"]] == [root_b["id"], middle["id"]]
    filtered = await admin.query(
        "query($c: ID) { products(filter: {categoryId: $c}) { totalCount } }", {"c": root_b["id"]}
    )
    assert filtered.data["products"]["totalCount"] == 1
    to_root = await admin.query(UPDATE_CATEGORY, {"id": middle["id"], "input": {"parentId": None}})
    assert to_root.data["categoryUpdate"]["category"]["parent"] is None
    leaf_now = (await admin.query(TREE, {"slug": "tree-leaf"})).data["category"]
    assert (leaf_now["level"], [a["id"] for a in leaf_now["ancestors"]]) == (1, [middle["id"]])


async def test_cycles_are_refused(admin: Api) -> None:
    top = await category(admin, "cycle-top")
    below = await category(admin, "cycle-below", top["id"])
    log = ChangeLog(admin)
    await log.mark()
    for parent in (top["id"], below["id"]):
        result = await admin.query(
            UPDATE_CATEGORY, {"id": top["id"], "input": {"parentId": parent}}
        )
        assert result.data["categoryUpdate"]["userErrors"] == [
            {"field": ["input", "parentId"], "code": "CYCLE"}
        ]
    assert await log.since_mark() == []


async def test_delete_is_refused_while_the_category_holds_anything(admin: Api, editor: Api) -> None:
    top = await category(admin, "del-top")
    child = await category(admin, "del-child", top["id"])
    product = await create(editor, categoryId=child["id"])
    refused = await admin.query(DELETE, {"id": top["id"]})
    assert refused.data["categoryDelete"]["userErrors"] == [{"code": "HAS_CHILDREN"}]
    refused = await admin.query(DELETE, {"id": child["id"]})
    assert refused.data["categoryDelete"]["userErrors"] == [{"code": "HAS_PRODUCTS"}]
    await editor.query(
        UPDATE, {"id": product["id"], "input": {"categoryId": ids.encode("Category", 11)}}
    )
    log = ChangeLog(admin)
    await log.mark()
    for target in (child, top):
        done = await admin.query(DELETE, {"id": target["id"]})
        assert done.data["categoryDelete"]["deletedCategoryId"] == target["id"]
    assert [(c["entityId"], c["kind"]) for c in await log.since_mark()] == [
        (child["id"], "DELETED"),
        (top["id"], "DELETED"),
    ]
    missing = await admin.query(DELETE, {"id": top["id"]})
    assert missing.data["categoryDelete"]["userErrors"] == [{"code": "NOT_FOUND"}]


async def test_category_input_errors(admin: Api) -> None:
    await category(admin, "dup-slug")
    for given, code in [
        ({"slug": "dup-slug", "name": "D"}, "TAKEN"),
        ({"slug": "Bad Slug", "name": "D"}, "INVALID"),
        ({"slug": "ok-slug", "name": ""}, "BLANK"),
        (
            {"slug": "ok-slug-2", "name": "D", "parentId": ids.encode("Category", 99_999)},
            "NOT_FOUND",
        ),
    ]:
        result = await admin.query(CREATE, {"input": given})
        assert [e["code"] for e in result.data["categoryCreate"]["userErrors"]] == [code]


async def test_changes_is_for_admins(editor: Api, anonymous: Api) -> None:
    query = "{ changes(first: 1) { totalCount } }"
    assert (await editor.query(query)).codes == ["FORBIDDEN"]
    assert (await anonymous.query(query)).codes == ["UNAUTHENTICATED"]
