"""recommendations: lead_embeddings (the vector moves off leads), lead_interactions, buyer_profiles

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
    # the vector moves to a narrow table of its own (see LeadEmbedding); no vector was ever written
    # before 0005, so nothing is copied
    op.drop_index("ix_leads_embedding_hnsw", table_name="leads", postgresql_using="hnsw")
    op.drop_column("leads", "embedding")
    op.create_table(
        "lead_embeddings",
        sa.Column("lead_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_embeddings_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_embeddings")),
    )
    op.create_index(
        "ix_lead_embeddings_hnsw",
        "lead_embeddings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index("ix_lead_embeddings_text_hash", "lead_embeddings", ["text_hash"], unique=False)
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
    op.drop_index("ix_lead_embeddings_text_hash", table_name="lead_embeddings")
    op.drop_index("ix_lead_embeddings_hnsw", table_name="lead_embeddings", postgresql_using="hnsw")
    op.drop_table("lead_embeddings")
    op.add_column("leads", sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True))
    op.create_index(
        "ix_leads_embedding_hnsw",
        "leads",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
