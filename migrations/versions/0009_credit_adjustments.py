"""credit adjustments: an operator's ADJUSTMENT entries in the credit ledger (adjustCredits)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND','REVERSAL')"
NEW_KINDS = "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND','REVERSAL','ADJUSTMENT')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", type_="check")
    op.create_check_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM credit_ledger WHERE kind = 'ADJUSTMENT'")
    op.drop_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", type_="check")
    op.create_check_constraint(op.f("ck_credit_ledger_kind_valid"), "credit_ledger", OLD_KINDS)
