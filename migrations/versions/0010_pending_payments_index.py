"""pending payments: an index for the worker's gauge of payments still awaiting their webhook

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_payments_pending_created",
        "payments",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_payments_pending_created", table_name="payments", postgresql_where=sa.text("status = 'PENDING'")
    )
