"""Page sessions in the database: signing out, revoking or deleting a key ends a session
in every worker and across restarts (a signed cookie alone stayed valid until it expired).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-20 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_session",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column(
            "key_id",
            sa.Integer(),
            sa.ForeignKey("api_key.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_page_session_key_id", "page_session", ["key_id"])
    op.create_index("ix_page_session_expires_at", "page_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_page_session_expires_at", table_name="page_session")
    op.drop_index("ix_page_session_key_id", table_name="page_session")
    op.drop_table("page_session")
