"""Which releases' code a schema still serves (expand-then-contract releases).

``schema_release`` has a row per applied revision from this one on: ``serves_from`` is
the oldest release head (an Alembic revision) whose code still works on the schema at
``revision``. An expand-only migration (new tables, new nullable columns, new indexes)
keeps the previous row's ``serves_from``; a contract migration (a drop, a rename, a
NOT NULL added, a meaning changed) sets it to its own revision. A release whose head is
behind the database's reads the row of the database's revision and is ready when its
head is ``serves_from`` or later (app/migrate.py ``schema_state``); each later migration
inserts its row on upgrade and deletes it on downgrade, as this one does (the table per
migration is in docs/operations.md).

This migration only adds a table: expand-only, so the release at 0019 still works on it
(that release's ``/readyz`` predates the table and compares revisions for equality).

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-06 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: expand-only: the code of the release at ``down_revision`` keeps working
CONTRACT = False


def upgrade() -> None:
    table = op.create_table(
        "schema_release",
        sa.Column("revision", sa.String(length=32), primary_key=True),
        sa.Column("serves_from", sa.String(length=32), nullable=False),
    )
    op.bulk_insert(
        table,
        [{"revision": revision, "serves_from": revision if CONTRACT else down_revision}],
    )


def downgrade() -> None:
    op.drop_table("schema_release")
