"""Listing imports: catalogue entries keep the local platform's basic code, and an
implementation imported from a listing without them has no power source, body nature or
case type yet (status 7 待完善, completed by a full write).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NULLABLE_ON_IMPORT = ("power_source", "body_nature", "case_type")


def upgrade() -> None:
    with op.batch_alter_table("catalogue_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_basic_code", sa.String(length=100), nullable=True))
        batch_op.create_index(
            "ix_catalogue_entry_local_basic_code", ["local_basic_code"], unique=False
        )
    with op.batch_alter_table("implementation", schema=None) as batch_op:
        for name in NULLABLE_ON_IMPORT:
            batch_op.alter_column(name, existing_type=sa.String(length=2), nullable=True)


def downgrade() -> None:
    # an item still 待完善 gets empty codes back: the old schema has no way to say "unknown"
    for name in NULLABLE_ON_IMPORT:
        op.execute(f"UPDATE implementation SET {name} = '' WHERE {name} IS NULL")
    with op.batch_alter_table("implementation", schema=None) as batch_op:
        for name in NULLABLE_ON_IMPORT:
            batch_op.alter_column(name, existing_type=sa.String(length=2), nullable=False)
    with op.batch_alter_table("catalogue_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogue_entry_local_basic_code")
        batch_op.drop_column("local_basic_code")
