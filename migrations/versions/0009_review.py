"""Review before publishing: change requests and their review actions; who approved a
version, through which channel it came (direct, sync, review) and from which request.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "change_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_code", sa.String(length=31), nullable=True),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("body", JSON, nullable=True),
        sa.Column("patch", JSON, nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_code", sa.String(length=31), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
    )
    op.create_index("ix_change_request_status", "change_request", ["status", "region_code"])
    op.create_index("ix_change_request_item", "change_request", ["item_code"])
    op.create_index("ix_change_request_department", "change_request", ["department_code"])
    op.create_table(
        "review_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "change_request_id",
            sa.Integer(),
            sa.ForeignKey("change_request.id"),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_review_action_request", "review_action", ["change_request_id"])
    with op.batch_alter_table("record_version") as batch:
        batch.add_column(sa.Column("approved_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("channel", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("change_request_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record_version") as batch:
        batch.drop_column("change_request_id")
        batch.drop_column("channel")
        batch.drop_column("approved_by")
    op.drop_index("ix_review_action_request", table_name="review_action")
    op.drop_table("review_action")
    op.drop_index("ix_change_request_department", table_name="change_request")
    op.drop_index("ix_change_request_item", table_name="change_request")
    op.drop_index("ix_change_request_status", table_name="change_request")
    op.drop_table("change_request")
