"""Trusted documents: the operations an operator allows when only those may run.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_documents")),
    )
    op.create_index(
        op.f("ix_trusted_documents_sha256"), "trusted_documents", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_trusted_documents_sha256"), table_name="trusted_documents")
    op.drop_table("trusted_documents")
