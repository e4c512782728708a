"""payment reversals: refunded_at / disputed_at on payments, REVERSAL ledger entries

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND')"
NEW_KINDS = "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND','REVERSAL')"


def upgrade() -> None:
    op.add_column("payments", sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", type_="check")
    op.create_check_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM credit_ledger WHERE kind = 'REVERSAL'")  # cannot be represented before 0004
    op.drop_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", type_="check")
    op.create_check_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", OLD_KINDS)
    op.drop_column("payments", "disputed_at")
    op.drop_column("payments", "refunded_at")
