"""Search: the optional English name of catalogue entries, and counts of opened hits.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-16 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalogue_entry") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=300), nullable=True))
    op.create_table(
        "search_click",
        sa.Column("query", sa.String(length=100), primary_key=True),
        sa.Column("basic_code", sa.String(length=12), primary_key=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("search_click")
    with op.batch_alter_table("catalogue_entry") as batch:
        batch.drop_column("name_en")
