"""Import jobs: files uploaded to POST /imports, applied or checked (dry run) in the
background, with their progress and row report.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("profile", sa.String(length=20), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("key_name", sa.String(length=100), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("counts", JSON, nullable=True),
        sa.Column("report", JSON, nullable=True),
        sa.Column("report_truncated", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_import_job_key_name", "import_job", ["key_name"])


def downgrade() -> None:
    op.drop_index("ix_import_job_key_name", table_name="import_job")
    op.drop_table("import_job")
