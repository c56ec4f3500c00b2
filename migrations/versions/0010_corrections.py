"""Corrections (纠错): problems with an item reported by anyone, the department's answer
and the change request that fixed it; the contact is kept for the retention period only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(length=43), nullable=False, unique=True),
        sa.Column("item_code", sa.String(length=31), nullable=False),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("suggested", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("contact_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.String(length=100), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "change_request_id",
            sa.Integer(),
            sa.ForeignKey("change_request.id"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_correction_department", "correction", ["department_code", "status"])
    op.create_index("ix_correction_region", "correction", ["region_code", "status"])
    op.create_index("ix_correction_item", "correction", ["item_code"])
    op.create_index("ix_correction_created_at", "correction", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_correction_created_at", table_name="correction")
    op.drop_index("ix_correction_item", table_name="correction")
    op.drop_index("ix_correction_region", table_name="correction")
    op.drop_index("ix_correction_department", table_name="correction")
    op.drop_table("correction")
