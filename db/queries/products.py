"""Product lookups, filtered pages per category subtree, and subtree counts."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from db.direct import generic_plan
from db.lists import one_of
from db.models import ProductStatus, categories, products
from db.pagination import (
    SINGLE_PARENT,
    Keyset,
    Page,
    PageWindow,
    SortKey,
    Statements,
    bound,
    cursor_parameters,
    cursor_range,
    limited_page_statement,
    sort_order,
    split_pages,
    window_page_statement,
    window_shape,
)
from db.queries.categories import COLUMNS as CATEGORY_COLUMNS
from db.queries.categories import in_subtree
from db.queries.variants import (
    IMAGES_PER_PRODUCT,
    image_lists_column,
    images_from_json,
    variant_lists_column,
    variants_from_json,
)
from db.read_session import read_rows
from db.rows import CategoryRow, ImageRow, ProductRow, VariantRow, reader

COLUMNS = tuple(products.c)
PUBLIC_STATUSES = (ProductStatus.ACTIVE,)


class ProductSortField(StrEnum):
    NAME = "NAME"
    PRICE = "PRICE"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    # Only with a search (db.queries.search orders by its score); without one, NAME.
    RELEVANCE = "RELEVANCE"


SORT_COLUMNS: dict[ProductSortField, ColumnElement[Any]] = {
    ProductSortField.NAME: products.c.name,
    ProductSortField.PRICE: products.c.min_price,
    ProductSortField.CREATED_AT: products.c.created_at,
    ProductSortField.UPDATED_AT: products.c.updated_at,
}
SORT_ATTRIBUTES = {
    ProductSortField.NAME: "name",
    ProductSortField.PRICE: "min_price",
    ProductSortField.CREATED_AT: "created_at",
    ProductSortField.UPDATED_AT: "updated_at",
}


@dataclass(frozen=True, slots=True)
class ProductSort:
    field: ProductSortField = ProductSortField.NAME
    descending: bool = False

    def key(self) -> SortKey:
        return SortKey(
            columns=(SORT_COLUMNS[self.field], products.c.id), descending=self.descending
        )

    def keyset(self, row: ProductRow) -> Keyset:
        return Keyset((getattr(row, SORT_ATTRIBUTES[self.field]), row.id))


@dataclass(frozen=True, slots=True)
class ProductFilter:
    """What the caller asked for; `statuses` is already narrowed to what the viewer may see."""

    statuses: tuple[ProductStatus, ...] = PUBLIC_STATUSES
    category_id: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None


to_row = reader(ProductRow, COLUMNS)


def _filtered(
    stmt: Select[Any], flt: ProductFilter, table: Any = products, *, inline: bool = False
) -> Select[Any]:
    """`table` is `products` or an alias of it."""
    c = table.c
    # Bound, not literal: a statement built once runs again with other values (see _STATEMENTS).
    statuses = list(flt.statuses)
    # Bound by name for statements run with filter_parameters; by value for one-off statements.
    stmt = stmt.where(c.status.in_(statuses) if inline else one_of(c.status, "statuses"))
    if flt.min_price is not None:
        stmt = stmt.where(c.min_price >= bindparam("min_price", flt.min_price, c.min_price.type))
    if flt.max_price is not None:
        stmt = stmt.where(c.min_price <= bindparam("max_price", flt.max_price, c.min_price.type))
    if flt.in_stock is not None:
        stmt = stmt.where(c.in_stock.is_(flt.in_stock))
    if flt.category_id is not None:
        scope = categories.alias("scope")
        within = select(categories.c.id).join_from(
            categories, scope, in_subtree(categories.c.path, scope.c.path)
        )
        scope_id: Any = bindparam("scope_id", flt.category_id)
        stmt = stmt.where(c.category_id.in_(within.where(scope.c.id == scope_id)))
    return stmt


def filter_parameters(flt: ProductFilter) -> dict[str, Any]:
    """The values of `_filtered`'s bound parameters."""
    out: dict[str, Any] = {"statuses": list(flt.statuses)}
    if flt.min_price is not None:
        out["min_price"] = flt.min_price
    if flt.max_price is not None:
        out["max_price"] = flt.max_price
    if flt.category_id is not None:
        out["scope_id"] = flt.category_id
    return out


def _parents(column: ColumnElement[Any], category_ids: Sequence[int]) -> ColumnElement[bool]:
    return one_of(column, "parent_ids")


# The bound parameters that carry a caller's values; any other (the LIMIT, a LIKE pattern) is a
# constant of the shape.
VALUES = re.compile(r"statuses|min_price|max_price|scope_id|parent_ids|(after|before)_[0-9]+")
_STATEMENTS = Statements(VALUES)


def _filter_shape(flt: ProductFilter) -> tuple[Any, ...]:
    return (
        flt.min_price is not None,
        flt.max_price is not None,
        flt.in_stock,
        flt.category_id is not None,
    )


def _first_pages_base(
    category_ids: Sequence[int], flt: ProductFilter, sort: ProductSort, window: PageWindow
) -> tuple[Select[Any], ColumnElement[Any]]:
    """For SQLite: only each subtree category's own first `limit + 1` rows can be on a first
    page, so join products through those (read per category from the sort's index) and the
    window sorts a few rows per category instead of whole subtrees."""
    parent = categories.alias("parent")
    child = categories.alias("child")
    leaf = products.alias("leaf_top")
    key = sort.key()
    leaf_key = SortKey(
        columns=tuple(leaf.c[c.name] for c in key.columns), descending=key.descending
    )
    top = (
        _filtered(select(leaf.c.id).where(leaf.c.category_id == child.c.id), flt, leaf)
        .order_by(*sort_order(leaf_key, window))
        .limit(window.limit + 1)
    )
    base = (
        select(*COLUMNS)
        .select_from(parent)
        .join(child, in_subtree(child.c.path, parent.c.path))
        .join(products, products.c.id.in_(top))
        .where(_parents(parent.c.id, category_ids))
    )
    return base, parent.c.id


def filtered(
    stmt: Select[Any], flt: ProductFilter, table: Any = products, *, inline: bool = True
) -> Select[Any]:
    """`stmt`, a select over products (or `table`, with their columns), narrowed by `flt` the
    way every product list is; `inline=False` binds the statuses by name, for statements built
    once and run with filter_parameters."""
    return _filtered(stmt, flt, table, inline=inline)


_BY_IDS = generic_plan(select(*COLUMNS).where(one_of(products.c.id, "ids")))
_BY_SLUGS = generic_plan(select(*COLUMNS).where(one_of(products.c.slug, "slugs")))


def _by_slugs_with_categories(ancestors: bool) -> tuple[Select[Any], ColumnElement[bool]]:
    """A row per product and each of its category's ancestors (the category itself included),
    the ancestor's columns labelled `ancestor_<name>`; without `ancestors`, a row per product
    and its category alone (labelled the same). And what is true of the one row per product
    whose ancestor is its own category."""
    target = categories.alias("target")
    joined = select(*COLUMNS).join_from(products, target, target.c.id == products.c.category_id)
    if ancestors:
        ancestor = categories.alias("ancestor")
        joined = joined.join(ancestor, in_subtree(target.c.path, ancestor.c.path))
        own: ColumnElement[bool] = ancestor.c.id == target.c.id
    else:
        ancestor = target
        own = true()
    statement = joined.add_columns(
        *(ancestor.c[c.name].label(f"ancestor_{c.name}") for c in CATEGORY_COLUMNS)
    ).where(one_of(products.c.slug, "slugs"))
    return statement, own


def _by_slugs_with_details(ancestors: bool, variants: bool, images: bool) -> Select[Any]:
    """The same, with each product's variants (`variants_json`) and its first
    IMAGES_PER_PRODUCT images (`images_json`) as JSON, as asked: PostgreSQL only. Only on the
    product's own category's row: on every ancestor's, the driver decoded the same JSON again
    (a product page with two ancestors decoded each list three times)."""
    statement, own = _by_slugs_with_categories(ancestors)
    if variants:
        variant_lists = variant_lists_column(products)
        statement = statement.add_columns(
            case((own, variant_lists.c.list)).label("variants_json")
        ).outerjoin(variant_lists, true())
    if images:
        image_lists = image_lists_column(products, IMAGES_PER_PRODUCT)
        statement = statement.add_columns(
            case((own, image_lists.c.list)).label("images_json")
        ).outerjoin(image_lists, true())
    return statement


_BY_SLUGS_WITH_DETAILS = {
    (ancestors, variants, images): generic_plan(_by_slugs_with_details(ancestors, variants, images))
    for ancestors in (False, True)
    for variants in (False, True)
    for images in (False, True)
}
_category_row = reader(CategoryRow, CATEGORY_COLUMNS, prefix="ancestor_")


@dataclass(slots=True)
class ProductsWithDetails:
    """What `products_with_categories_by_slugs` found: the products, their categories (with
    every ancestor, as asked), and (None where the statement did not bring them) each
    product's variants and first IMAGES_PER_PRODUCT images."""

    products: list[ProductRow]
    categories: list[CategoryRow]
    variants: dict[int, list[VariantRow]] | None = None
    images: dict[int, list[ImageRow]] | None = None


async def products_by_ids(*, session: AsyncSession, ids: Sequence[int]) -> list[ProductRow]:
    result = await read_rows(session, _BY_IDS, {"ids": list(ids)})
    return [to_row(row) for row in result]


async def products_by_slugs(*, session: AsyncSession, slugs: Sequence[str]) -> list[ProductRow]:
    result = await read_rows(session, _BY_SLUGS, {"slugs": list(slugs)})
    return [to_row(row) for row in result]


async def products_with_categories_by_slugs(
    *,
    session: AsyncSession,
    slugs: Sequence[str],
    with_ancestors: bool = True,
    with_variants: bool = False,
    with_images: bool = False,
) -> ProductsWithDetails:
    """The products with these slugs, and their categories with all their ancestors, in one
    statement (a product page shows its category and breadcrumbs: one round trip, not two).
    Without `with_ancestors`, their categories alone (a product card: a third of the rows).
    `with_variants`, `with_images`: on PostgreSQL, the same statement brings each product's
    variants, and its images, too (a product page's every list)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    variants, images = with_variants and postgresql, with_images and postgresql
    statement = _BY_SLUGS_WITH_DETAILS[with_ancestors, variants, images]
    found: dict[int, ProductRow] = {}
    tree: dict[int, CategoryRow] = {}
    variant_lists: dict[int, list[VariantRow]] = {}
    image_lists: dict[int, list[ImageRow]] = {}
    for row in await read_rows(session, statement, {"slugs": list(slugs)}):
        product = found.get(row.id)
        if product is None:
            product = found[row.id] = to_row(row)
        ancestor = _category_row(row)
        tree.setdefault(ancestor.id, ancestor)
        if ancestor.id == product.category_id:  # the row with its lists
            if variants:
                variant_lists[product.id] = variants_from_json(row.variants_json)
            if images:
                image_lists[product.id] = images_from_json(row.images_json)
    return ProductsWithDetails(
        list(found.values()),
        list(tree.values()),
        variant_lists if variants else None,
        image_lists if images else None,
    )


def _by_parent(include_subcategories: bool) -> tuple[Select[Any], ColumnElement[Any]]:
    """Rows of products joined to the category (its subtree, or itself) whose page they are on."""
    if not include_subcategories:
        return select(*COLUMNS), products.c.category_id
    parent = categories.alias("parent")
    child = categories.alias("child")
    stmt = (
        select(*COLUMNS)
        .select_from(parent)
        .join(child, in_subtree(child.c.path, parent.c.path))
        .join(products, products.c.category_id == child.c.id)
    )
    return stmt, parent.c.id


def _correlated_to(parent: Any, include_subcategories: bool) -> Select[Any]:
    """Rows of products on `parent`'s page, referring to `parent` for a LATERAL join."""
    if not include_subcategories:
        return select(*COLUMNS).where(products.c.category_id == parent.c.id)
    child = categories.alias("child")
    return (
        select(*COLUMNS)
        .join_from(products, child, products.c.category_id == child.c.id)
        .where(in_subtree(child.c.path, parent.c.path))
    )


def _leaf_candidates(
    parent: Any, flt: ProductFilter, sort: ProductSort, window: PageWindow
) -> tuple[Select[Any], SortKey]:
    """Each subtree category's own first `limit + 1` rows, read from its (category_id, sort key,
    id) index: a page of a 20-leaf subtree reads ~20 x limit rows instead of every product."""
    child = categories.alias("child")
    key = sort.key()
    order = sort_order(key, window)
    leaf_rows = _filtered(select(*COLUMNS).where(products.c.category_id == child.c.id), flt)
    in_range = cursor_range(key, window)
    leaf = leaf_rows.where(*in_range).order_by(*order).limit(window.limit + 1).lateral("leaf")
    candidates = (
        select(*leaf.c)
        .select_from(child)
        .join(leaf, true())
        .where(in_subtree(child.c.path, parent.c.path))
    )
    leaf_key = SortKey(
        columns=tuple(leaf.c[c.name] for c in key.columns),
        descending=key.descending,
    )
    return candidates, leaf_key


def pages_statement(
    *,
    dialect: str,
    category_ids: Sequence[int],
    flt: ProductFilter,
    sort: ProductSort,
    window: PageWindow,
    include_subcategories: bool,
) -> Select[Any]:
    """LATERAL with a LIMIT per category where the backend has it (measured ~20x faster on the
    seeded catalog's mega-menu than the window form, which sorts every subtree whole)."""
    if dialect == "postgresql":
        parent = categories.alias("parent")
        rows = _filtered(_correlated_to(parent, include_subcategories), flt)
        return limited_page_statement(
            rows,
            sort=sort.key(),
            window=window,
            parent_key=parent.c.id,
            parents=_parents(parent.c.id, category_ids),
            candidates=_leaf_candidates(parent, flt, sort, window)
            if include_subcategories
            else None,
        )
    first_page = window.after is None and window.before is None and not window.with_total
    if include_subcategories and first_page:
        base, parent_id = _first_pages_base(category_ids, flt, sort, window)
    else:
        base, parent_id = _by_parent(include_subcategories)
        base = _filtered(base.where(_parents(parent_id, category_ids)), flt)
    return window_page_statement(base, parent=parent_id, sort=sort.key(), window=window)


async def product_pages_by_category_ids(
    *,
    session: AsyncSession,
    category_ids: Sequence[int],
    flt: ProductFilter,
    sort: ProductSort,
    window: PageWindow,
    include_subcategories: bool,
) -> dict[int, Page[ProductRow]]:
    """The same page of products for each category, in one statement."""
    dialect = session.get_bind().dialect.name
    shape = (
        "pages",
        dialect,
        include_subcategories,
        sort,
        _filter_shape(flt),
        window_shape(window),
    )
    stmt, names = _STATEMENTS.get(
        shape,
        lambda: pages_statement(
            dialect=dialect,
            category_ids=category_ids,
            flt=flt,
            sort=sort,
            window=window,
            include_subcategories=include_subcategories,
        ),
    )
    values = filter_parameters(flt) | cursor_parameters(window)
    values["parent_ids"] = list(category_ids)
    rows = await read_rows(session, stmt, bound(names, values))
    return split_pages(rows, window=window, to_item=to_row, to_keyset=sort.keyset)


async def product_page(
    *, session: AsyncSession, flt: ProductFilter, sort: ProductSort, window: PageWindow
) -> Page[ProductRow]:
    shape = ("page", sort, _filter_shape(flt), window_shape(window))
    stmt, names = _STATEMENTS.get(
        shape,
        lambda: limited_page_statement(
            _filtered(select(*COLUMNS), flt), sort=sort.key(), window=window
        ),
    )
    values = filter_parameters(flt) | cursor_parameters(window)
    rows = await read_rows(session, stmt, bound(names, values))
    pages = split_pages(rows, window=window, to_item=to_row, to_keyset=sort.keyset)
    return pages.get(SINGLE_PARENT, Page())


def _counts_by_category() -> Select[Any]:
    parent = categories.alias("parent")
    child = categories.alias("child")
    return (
        select(parent.c.id, func.count(products.c.id))
        .select_from(parent)
        .join(child, in_subtree(child.c.path, parent.c.path))
        .join(products, products.c.category_id == child.c.id)
        .where(
            one_of(parent.c.id, "category_ids"),
            one_of(products.c.status, "statuses"),
        )
        .group_by(parent.c.id)
    )


# Built once: building it (aliases and their column proxies) cost more CPU than running it.
_COUNTS_BY_CATEGORY = _counts_by_category()


async def product_counts_by_category_ids(
    *, session: AsyncSession, category_ids: Sequence[int], statuses: Sequence[ProductStatus]
) -> dict[int, int]:
    """Products of these statuses in each category's whole subtree."""
    values = {"category_ids": list(category_ids), "statuses": list(statuses)}
    return {row[0]: row[1] for row in await read_rows(session, _COUNTS_BY_CATEGORY, values)}
