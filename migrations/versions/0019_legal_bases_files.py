"""Legal bases (法律法规及政策文件) as versioned records, the tasks their amendment or repeal
gives the departments whose items cite them, and material files (规范表格、填写说明、示范文本)
stored once by SHA-256; a material's filling-instructions file beside its 填报须知 text.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_basis",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("amended_on", sa.Date(), nullable=True),
        sa.Column("repealed_on", sa.Date(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_legal_basis_title", "legal_basis", ["title"])
    op.create_index("ix_legal_basis_status", "legal_basis", ["status"])
    op.create_table(
        "legal_basis_task",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "legal_basis_id",
            sa.Integer(),
            sa.ForeignKey("legal_basis.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("legal_basis_version", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=31), nullable=False),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_legal_basis_task_item_code", "legal_basis_task", ["item_code"])
    op.create_index("ix_legal_basis_task_department", "legal_basis_task", ["department_code"])
    op.create_index("ix_legal_basis_task_basis", "legal_basis_task", ["legal_basis_id"])
    op.create_table(
        "stored_file",
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
    )
    op.add_column(
        "item_material",
        sa.Column(
            "instructions_file",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("item_material") as batch:
        batch.drop_column("instructions_file")
    op.drop_table("stored_file")
    op.drop_index("ix_legal_basis_task_basis", table_name="legal_basis_task")
    op.drop_index("ix_legal_basis_task_department", table_name="legal_basis_task")
    op.drop_index("ix_legal_basis_task_item_code", table_name="legal_basis_task")
    op.drop_table("legal_basis_task")
    op.drop_index("ix_legal_basis_status", table_name="legal_basis")
    op.drop_index("ix_legal_basis_title", table_name="legal_basis")
    op.drop_table("legal_basis")
