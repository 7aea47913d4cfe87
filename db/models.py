"""Tables of the catalog. Query functions read them with Core selects into plain rows."""

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import BigId, Money, PathString, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class ProductStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Category(Timestamps, Base):
    """A node of the category tree; `path` is "/<root id>/.../<own id>/": a subtree is a range."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    level: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str] = mapped_column(PathString, unique=True)

    __table_args__ = (
        Index("ix_categories_level_position_name", "level", "position", "name", "id"),
        Index("ix_categories_parent_position_name", "parent_id", "position", "name", "id"),
    )


class Product(Timestamps, Base):
    """A product. min/max price, currency and in_stock are kept in step with its variants."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProductStatus] = mapped_column(
        Enum(ProductStatus, name="product_status", native_enum=False, length=16),
        default=ProductStatus.DRAFT,
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    min_price: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    max_price: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    in_stock: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_products_category_price", "category_id", "min_price", "id"),
        Index("ix_products_category_name", "category_id", "name", "id"),
        Index("ix_products_category_created", "category_id", "created_at", "id"),
        Index("ix_products_category_updated", "category_id", "updated_at", "id"),
        Index("ix_products_name", "name", "id"),
        Index("ix_products_price", "min_price", "id"),
        Index("ix_products_created", "created_at", "id"),
        Index("ix_products_updated", "updated_at", "id"),
    )


class ProductVariant(Timestamps, Base):
    __tablename__ = "product_variants"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    selected_options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    price: Mapped[Decimal] = mapped_column(Money())
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money(), nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_product_variants_product_position", "product_id", "position", "id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )


class ProductImage(Base):
    __tablename__ = "product_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    alt: Mapped[str] = mapped_column(String(512), default="")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_product_images_product_position", "product_id", "position", "id"),)


class ChangeKind(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Change(Base):
    """One committed change to one entity. `id` grows in commit order (see db.writes.unit)."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[ChangeKind] = mapped_column(
        Enum(ChangeKind, name="change_kind", native_enum=False, length=16)
    )
    changed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_changes_entity", "entity_type", "entity_id", "id"),
        # Never reuse a sequence number, even for rows that a test or an operator removed.
        {"sqlite_autoincrement": True},
    )


categories = cast(Table, Category.__table__)
products = cast(Table, Product.__table__)
variants = cast(Table, ProductVariant.__table__)
images = cast(Table, ProductImage.__table__)
changes = cast(Table, Change.__table__)
