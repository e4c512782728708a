"""initial data model

Revision ID: 0001
Revises:
Create Date: 2026-11-24 05:04:43.129554+00:00
"""

from collections.abc import Sequence

import geoalchemy2
import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_name", sa.String(length=120), nullable=False),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("property_type", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip", sa.String(length=10), nullable=False),
        sa.Column(
            "location",
            geoalchemy2.types.Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("asking_price", sa.BigInteger(), nullable=True),
        sa.Column("bedrooms", sa.Integer(), nullable=True),
        sa.Column("bathrooms", sa.Float(), nullable=True),
        sa.Column("sqft", sa.Integer(), nullable=True),
        sa.Column("year_built", sa.Integer(), nullable=True),
        sa.Column("photos", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quality_score", sa.Float(), server_default="0.5", nullable=False),
        sa.Column("fraud_score", sa.Float(), server_default="0", nullable=False),
        sa.Column("fraud_signals", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("price_credits", sa.Integer(), server_default="10", nullable=False),
        sa.Column("max_buyers", sa.Integer(), server_default="1", nullable=False),
        sa.Column("buyers_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("holds_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="AVAILABLE", nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.Column("dedup_key", sa.Text(), nullable=True),
        sa.Column(
            "search_tsv",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(city, '') || ' ' || coalesce(state, '')), 'B') || setweight(to_tsvector('english', coalesce(description, '')), 'C')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("reprice_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "property_type IN ('SINGLE_FAMILY', 'CONDO', 'TOWNHOUSE', 'MULTI_FAMILY', 'LAND', 'MANUFACTURED', 'OTHER')",
            name=op.f("ck_leads_property_type_valid"),
        ),
        sa.CheckConstraint(
            "source IN ('ZILLOW', 'CRAIGSLIST', 'FSBO', 'FACEBOOK')", name=op.f("ck_leads_source_valid")
        ),
        sa.CheckConstraint(
            "status IN ('AVAILABLE', 'SOLD_OUT', 'WITHDRAWN')", name=op.f("ck_leads_status_valid")
        ),
        sa.CheckConstraint("buyers_count + holds_count <= max_buyers", name=op.f("ck_leads_no_oversell")),
        sa.CheckConstraint(
            "buyers_count >= 0 AND holds_count >= 0", name=op.f("ck_leads_counts_not_negative")
        ),
        sa.CheckConstraint("fraud_score BETWEEN 0 AND 1", name=op.f("ck_leads_fraud_range")),
        sa.CheckConstraint("max_buyers BETWEEN 1 AND 5", name=op.f("ck_leads_max_buyers_range")),
        sa.CheckConstraint("price_credits >= 0", name=op.f("ck_leads_price_not_negative")),
        sa.CheckConstraint("quality_score BETWEEN 0 AND 1", name=op.f("ck_leads_quality_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index("ix_leads_city_state", "leads", ["city", "state"], unique=False)
    op.create_index("ix_leads_dedup_key", "leads", ["dedup_key"], unique=False)
    op.create_index(
        "ix_leads_embedding_hnsw",
        "leads",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index("ix_leads_location_gist", "leads", ["location"], unique=False, postgresql_using="gist")
    op.create_index("ix_leads_posted_at_id", "leads", ["posted_at", "id"], unique=False)
    op.create_index("ix_leads_price_id", "leads", ["price_credits", "id"], unique=False)
    op.create_index("ix_leads_quality_id", "leads", ["quality_score", "id"], unique=False)
    op.create_index(
        "ix_leads_reprice_due",
        "leads",
        ["reprice_due_at"],
        unique=False,
        postgresql_where="reprice_due_at IS NOT NULL",
    )
    op.create_index("ix_leads_search_tsv", "leads", ["search_tsv"], unique=False, postgresql_using="gin")
    op.create_index("ix_leads_zip", "leads", ["zip"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("tier", sa.String(length=16), server_default="FREE", nullable=False),
        sa.Column("role", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("credit_balance", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('user','admin')", name=op.f("ck_users_role_valid")),
        sa.CheckConstraint("tier IN ('FREE','PRO','ENTERPRISE')", name=op.f("ck_users_tier_valid")),
        sa.CheckConstraint("credit_balance >= 0", name=op.f("ck_users_balance_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "carts",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_carts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_carts")),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('GRANT','PACK_PURCHASE','MONTHLY_ALLOWANCE','SPEND','REFUND')",
            name=op.f("ck_credit_ledger_kind_valid"),
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_credit_ledger_amount_not_zero")),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_credit_ledger_balance_after_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_credit_ledger_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
    )
    op.create_index("ix_credit_ledger_user_id_id", "credit_ledger", ["user_id", "id"], unique=False)
    op.create_index(
        "uq_credit_ledger_user_kind_ref",
        "credit_ledger",
        ["user_id", "kind", "ref"],
        unique=True,
        postgresql_where="ref IS NOT NULL",
    )
    op.create_table(
        "idempotency_records",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_records_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "operation", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "lead_sources",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_sources_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_sources")),
        sa.UniqueConstraint("source", "external_id", name="uq_lead_sources_source_external"),
    )
    op.create_index(op.f("ix_lead_sources_lead_id"), "lead_sources", ["lead_id"], unique=False)
    op.create_table(
        "price_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_price_history_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_history")),
    )
    op.create_index("ix_price_history_lead_at", "price_history", ["lead_id", "at"], unique=False)
    op.create_table(
        "purchases",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("checkout_key", sa.String(), nullable=True),
        sa.Column(
            "purchased_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price >= 0", name=op.f("ck_purchases_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_purchases_lead_id_leads"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_purchases_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("user_id", "lead_id", name="uq_purchases_user_lead"),
    )
    op.create_index("ix_purchases_lead_id", "purchases", ["lead_id"], unique=False)
    op.create_index("ix_purchases_user_purchased", "purchases", ["user_id", "purchased_at"], unique=False)
    op.create_table(
        "raw_listings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("parsed", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("parse_error", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="NEW", nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_raw_listings_lead_id_leads"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_listings")),
        sa.UniqueConstraint("source", "external_id", "content_hash", name="uq_raw_listings_version"),
    )
    op.create_index("ix_raw_listings_status", "raw_listings", ["status"], unique=False)
    op.create_table(
        "holds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extensions_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("extensions_used >= 0", name=op.f("ck_holds_extensions_not_negative")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_holds_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["carts.user_id"], name=op.f("fk_holds_user_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("user_id", "lead_id", name="uq_holds_user_lead"),
    )
    op.create_index("ix_holds_held_until", "holds", ["held_until"], unique=False)
    op.create_index("ix_holds_lead_id", "holds", ["lead_id"], unique=False)
    op.create_table(
        "lead_returns",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("purchase_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("status", sa.String(), server_default="APPROVED", nullable=False),
        sa.Column("refunded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "reason IN ('BAD_PHONE','DUPLICATE','FRAUDULENT','ALREADY_SOLD')",
            name=op.f("ck_lead_returns_reason_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["purchases.id"],
            name=op.f("fk_lead_returns_purchase_id_purchases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_returns")),
        sa.UniqueConstraint("purchase_id", name=op.f("uq_lead_returns_purchase_id")),
    )


def downgrade() -> None:
    op.drop_table("lead_returns")
    op.drop_index("ix_holds_lead_id", table_name="holds")
    op.drop_index("ix_holds_held_until", table_name="holds")
    op.drop_table("holds")
    op.drop_index("ix_raw_listings_status", table_name="raw_listings")
    op.drop_table("raw_listings")
    op.drop_index("ix_purchases_user_purchased", table_name="purchases")
    op.drop_index("ix_purchases_lead_id", table_name="purchases")
    op.drop_table("purchases")
    op.drop_index("ix_price_history_lead_at", table_name="price_history")
    op.drop_table("price_history")
    op.drop_index(op.f("ix_lead_sources_lead_id"), table_name="lead_sources")
    op.drop_table("lead_sources")
    op.drop_table("idempotency_records")
    op.drop_index(
        "uq_credit_ledger_user_kind_ref", table_name="credit_ledger", postgresql_where="ref IS NOT NULL"
    )
    op.drop_index("ix_credit_ledger_user_id_id", table_name="credit_ledger")
    op.drop_table("credit_ledger")
    op.drop_table("carts")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
    op.drop_index("ix_leads_zip", table_name="leads")
    op.drop_index("ix_leads_search_tsv", table_name="leads", postgresql_using="gin")
    op.drop_index("ix_leads_reprice_due", table_name="leads", postgresql_where="reprice_due_at IS NOT NULL")
    op.drop_index("ix_leads_quality_id", table_name="leads")
    op.drop_index("ix_leads_price_id", table_name="leads")
    op.drop_index("ix_leads_posted_at_id", table_name="leads")
    op.drop_index("ix_leads_location_gist", table_name="leads", postgresql_using="gist")
    op.drop_index(
        "ix_leads_embedding_hnsw",
        table_name="leads",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_index("ix_leads_dedup_key", table_name="leads")
    op.drop_index("ix_leads_city_state", table_name="leads")
    op.drop_table("leads")
    op.drop_table("dead_letters")
    op.drop_table("api_keys")
