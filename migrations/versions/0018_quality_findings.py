"""Quality findings (标准管理): one row per item × rule × field that a quality rule finds,
and each department's counts by rule and day for the trend.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quality_finding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_code", sa.String(length=31), nullable=False),
        sa.Column("item_name", sa.String(length=300), nullable=False),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("item_code", "rule", "field", name="uq_quality_finding"),
    )
    for column in ("item_code", "department_code", "region_code", "rule"):
        op.create_index(f"ix_quality_finding_{column}", "quality_finding", [column])
    op.create_table(
        "quality_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("department_code", sa.String(length=18), primary_key=True),
        sa.Column("rule", sa.String(length=20), primary_key=True),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_quality_day_region_code", "quality_day", ["region_code"])


def downgrade() -> None:
    op.drop_index("ix_quality_day_region_code", table_name="quality_day")
    op.drop_table("quality_day")
    for column in ("rule", "region_code", "department_code", "item_code"):
        op.drop_index(f"ix_quality_finding_{column}", table_name="quality_finding")
    op.drop_table("quality_finding")
