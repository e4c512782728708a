"""marketplace integrity: payments, reviewed returns, 64-bit ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 07:56:09.380527+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=32), nullable=False),
        sa.Column("credits", sa.Integer(), server_default="0", nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_payment_id", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="CREATING", nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('CREDIT_PACK','TIER')", name=op.f("ck_payments_purpose_valid")),
        sa.CheckConstraint(
            "status IN ('CREATING','PENDING','SUCCEEDED','FAILED')", name=op.f("ck_payments_status_valid")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_user_created", "payments", ["user_id", "created_at"], unique=False)
    op.create_index(
        "uq_payments_provider_payment_id",
        "payments",
        ["provider", "provider_payment_id"],
        unique=True,
        postgresql_where="provider_payment_id IS NOT NULL",
    )
    op.create_index(
        "uq_payments_user_purpose_key", "payments", ["user_id", "purpose", "idempotency_key"], unique=True
    )
    op.alter_column(
        "credit_ledger", "amount", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=False
    )
    op.alter_column(
        "credit_ledger",
        "balance_after",
        existing_type=sa.INTEGER(),
        type_=sa.BigInteger(),
        existing_nullable=False,
    )
    op.drop_constraint(op.f("fk_credit_ledger_user_id_users"), "credit_ledger", type_="foreignkey")
    op.create_foreign_key(
        op.f("fk_credit_ledger_user_id_users"),
        "credit_ledger",
        "users",
        ["user_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.add_column("holds", sa.Column("base_price", sa.Integer(), nullable=True))
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"], unique=False)
    op.add_column("lead_returns", sa.Column("user_id", sa.UUID(), nullable=True))
    op.execute("UPDATE lead_returns r SET user_id = p.user_id FROM purchases p WHERE p.id = r.purchase_id")
    op.alter_column("lead_returns", "user_id", nullable=False)
    op.add_column("lead_returns", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("lead_returns", sa.Column("reviewer_id", sa.UUID(), nullable=True))
    op.add_column("lead_returns", sa.Column("review_note", sa.String(), nullable=True))
    # returns made before review existed were approved at once
    op.execute("UPDATE lead_returns SET reviewed_at = created_at WHERE status = 'APPROVED'")
    op.alter_column("lead_returns", "status", server_default="PENDING")
    op.create_check_constraint(
        op.f("ck_lead_returns_status_valid"), "lead_returns", "status IN ('PENDING','APPROVED','REJECTED')"
    )
    op.create_check_constraint(op.f("ck_lead_returns_refunded_not_negative"), "lead_returns", "refunded >= 0")
    op.create_index("ix_lead_returns_status_created", "lead_returns", ["status", "created_at"], unique=False)
    op.create_index("ix_lead_returns_user_created", "lead_returns", ["user_id", "created_at"], unique=False)
    op.create_foreign_key(
        op.f("fk_lead_returns_reviewer_id_users"),
        "lead_returns",
        "users",
        ["reviewer_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_lead_returns_user_id_users"),
        "lead_returns",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.add_column("users", sa.Column("tier_paid_until", sa.DateTime(timezone=True), nullable=True))
    # accounts already on a paid tier keep it for one period; from then on a period is paid through Stripe
    op.execute("UPDATE users SET tier_paid_until = now() + interval '30 days' WHERE tier <> 'FREE'")
    op.alter_column(
        "users",
        "credit_balance",
        existing_type=sa.INTEGER(),
        type_=sa.BigInteger(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
    )


def downgrade() -> None:
    op.alter_column(
        "users",
        "credit_balance",
        existing_type=sa.BigInteger(),
        type_=sa.INTEGER(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
    )
    op.drop_column("users", "tier_paid_until")
    op.drop_constraint(op.f("fk_lead_returns_user_id_users"), "lead_returns", type_="foreignkey")
    op.drop_constraint(op.f("fk_lead_returns_reviewer_id_users"), "lead_returns", type_="foreignkey")
    op.drop_index("ix_lead_returns_user_created", table_name="lead_returns")
    op.drop_index("ix_lead_returns_status_created", table_name="lead_returns")
    op.drop_constraint(op.f("ck_lead_returns_refunded_not_negative"), "lead_returns", type_="check")
    op.drop_constraint(op.f("ck_lead_returns_status_valid"), "lead_returns", type_="check")
    op.alter_column("lead_returns", "status", server_default="APPROVED")
    op.drop_column("lead_returns", "review_note")
    op.drop_column("lead_returns", "reviewer_id")
    op.drop_column("lead_returns", "reviewed_at")
    op.drop_column("lead_returns", "user_id")
    op.drop_index("ix_idempotency_records_created_at", table_name="idempotency_records")
    op.drop_column("holds", "base_price")
    op.drop_constraint(op.f("fk_credit_ledger_user_id_users"), "credit_ledger", type_="foreignkey")
    op.create_foreign_key(
        op.f("fk_credit_ledger_user_id_users"),
        "credit_ledger",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.alter_column(
        "credit_ledger",
        "balance_after",
        existing_type=sa.BigInteger(),
        type_=sa.INTEGER(),
        existing_nullable=False,
    )
    op.alter_column(
        "credit_ledger", "amount", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=False
    )
    op.drop_index("uq_payments_user_purpose_key", table_name="payments")
    op.drop_index(
        "uq_payments_provider_payment_id",
        table_name="payments",
        postgresql_where="provider_payment_id IS NOT NULL",
    )
    op.drop_index("ix_payments_user_created", table_name="payments")
    op.drop_table("payments")
