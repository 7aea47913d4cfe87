"""Tables of the catalog. Query functions read them with Core selects into plain rows."""

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
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
        # productCount: an index-only count per subtree category.
        Index("ix_products_category_status", "category_id", "status"),
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
    # New values of changed fields that history needs (prices); money as strings.
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_changes_entity", "entity_type", "entity_id", "id"),
        # Never reuse a sequence number, even for rows that a test or an operator removed.
        {"sqlite_autoincrement": True},
    )


class Outbox(Base):
    """Work to hand to Celery once the transaction that wrote it has committed."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "available_at", "id"),)


class JobStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Job(Base):
    """Long work started by a mutation; its task writes status, progress and result here."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, name="job_status", native_enum=False, length=16), default=JobStatus.QUEUED
    )
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(default=0.0)
    # Where a batched job resumes after a redelivery: committed with each batch's effects.
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # While RUNNING, the start that holds the job (a random token) and until when, unless its
    # heartbeat renews it; the relay re-queues a job whose lease ran out (db/leases.py).
    lease_owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_jobs_status", "status", "id"),)


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One attempt to deliver one change to one webhook."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),)


class ProductViewCount(Base):
    __tablename__ = "product_view_counts"

    product_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrustedDocument(Base):
    """A GraphQL document the operator registered (`gateway documents add`): by the client's id
    for it (a manifest's key, or its hash) and by the SHA-256 of its text."""

    __tablename__ = "trusted_documents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


categories = cast(Table, Category.__table__)
products = cast(Table, Product.__table__)
variants = cast(Table, ProductVariant.__table__)
images = cast(Table, ProductImage.__table__)
changes = cast(Table, Change.__table__)
outbox = cast(Table, Outbox.__table__)
jobs = cast(Table, Job.__table__)
webhooks = cast(Table, Webhook.__table__)
webhook_deliveries = cast(Table, WebhookDelivery.__table__)
product_view_counts = cast(Table, ProductViewCount.__table__)
trusted_documents = cast(Table, TrustedDocument.__table__)
