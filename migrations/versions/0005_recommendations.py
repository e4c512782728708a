"""recommendations: embedding_model / embedding_text_hash on leads, lead_interactions, buyer_profiles

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 14:00:00+00:00
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("embedding_model", sa.String(length=64), nullable=True))
    op.add_column("leads", sa.Column("embedding_text_hash", sa.String(length=32), nullable=True))
    # no vector was written before 0005; any that exists has no known model and is re-embedded
    op.execute("UPDATE leads SET embedding = NULL WHERE embedding IS NOT NULL")
    op.create_index(
        "ix_leads_embedding_text_hash",
        "leads",
        ["embedding_text_hash"],
        unique=False,
        postgresql_where="embedding_text_hash IS NOT NULL",
    )
    op.create_table(
        "lead_interactions",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("lead_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('VIEW','HOLD')", name=op.f("ck_lead_interactions_kind_valid")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_interactions_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lead_interactions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "lead_id", "kind", name=op.f("pk_lead_interactions")),
    )
    op.create_index("ix_lead_interactions_user_at", "lead_interactions", ["user_id", "at"], unique=False)
    op.create_table(
        "buyer_profiles",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_buyer_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_buyer_profiles")),
    )


def downgrade() -> None:
    op.drop_table("buyer_profiles")
    op.drop_index("ix_lead_interactions_user_at", table_name="lead_interactions")
    op.drop_table("lead_interactions")
    op.drop_index("ix_leads_embedding_text_hash", table_name="leads")
    op.drop_column("leads", "embedding_text_hash")
    op.drop_column("leads", "embedding_model")
