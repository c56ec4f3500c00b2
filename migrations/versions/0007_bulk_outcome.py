"""Bulk outcomes: a resent bulk body is answered from the versions it left.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulk_outcome",
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_hash"),
    )
    op.create_index("ix_bulk_outcome_recorded_at", "bulk_outcome", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_bulk_outcome_recorded_at", table_name="bulk_outcome")
    op.drop_table("bulk_outcome")
