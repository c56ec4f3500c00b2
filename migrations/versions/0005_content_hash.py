"""Content hash on implementations: a bulk upsert that resends an item unchanged is
answered from the hash, without validating and comparing the whole item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for rows written before: those take the full comparison until their next write.
    with op.batch_alter_table("implementation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("implementation", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
