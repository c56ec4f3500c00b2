"""Situations (情形): the options that require a material, ``when`` conditions on materials
and fees, and a fee's fixed amount. The questions themselves live in the guide's JSON.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # batch mode: SQLite cannot drop columns in place on downgrade
    with op.batch_alter_table("item_material") as batch:
        batch.add_column(sa.Column("options", JSON, nullable=True))
        batch.add_column(sa.Column("when", JSON, nullable=True))
    with op.batch_alter_table("item_fee") as batch:
        batch.add_column(sa.Column("amount", sa.Float(), nullable=True))
        batch.add_column(sa.Column("when", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_fee") as batch:
        batch.drop_column("when")
        batch.drop_column("amount")
    with op.batch_alter_table("item_material") as batch:
        batch.drop_column("when")
        batch.drop_column("options")
