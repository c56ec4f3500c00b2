"""The feed's history identity (epoch) and a mirror's record of where it stands in it.

``feed_epoch`` holds one row: a random value minted when the database is created (a new
instance has another). ``sync_position`` gains the epoch the mirror followed and the
fingerprint of the change at its ``last_seq``, so a restored source is noticed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:40:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "feed_epoch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(table, [{"id": 1, "epoch": uuid.uuid4().hex, "created_at": None}])
    with op.batch_alter_table("sync_position") as batch:
        batch.add_column(sa.Column("epoch", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_position") as batch:
        batch.drop_column("fingerprint")
        batch.drop_column("epoch")
    op.drop_table("feed_epoch")
