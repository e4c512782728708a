"""scheduled scraping: the record of scrape runs, listing presence per region, and EXPIRED leads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = "status IN ('AVAILABLE', 'SOLD_OUT', 'WITHDRAWN')"
STATUSES_AFTER = "status IN ('AVAILABLE', 'SOLD_OUT', 'WITHDRAWN', 'EXPIRED')"


def upgrade() -> None:
    op.create_table(
        "scrape_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("complete", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("expired", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('running', 'succeeded', 'failed', 'skipped_locked')",
            name=op.f("ck_scrape_runs_outcome_valid"),
        ),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'cli', 'admin')", name=op.f("ck_scrape_runs_trigger_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scrape_runs")),
    )
    op.create_index(
        "ix_scrape_runs_source_region_started",
        "scrape_runs",
        ["source", "region", "started_at"],
        unique=False,
    )
    op.add_column("lead_sources", sa.Column("region", sa.Text(), nullable=True))
    op.add_column(
        "lead_sources", sa.Column("missed_scrapes", sa.Integer(), server_default="0", nullable=False)
    )
    # the region each listing was last fetched in, as far as the raw pages kept it, so the first
    # scheduled scrapes can count absences without waiting for every listing to be seen again
    op.execute(
        "UPDATE lead_sources AS s SET region = r.region "
        "FROM (SELECT DISTINCT ON (source, external_id) source, external_id, region "
        "      FROM raw_listings WHERE region IS NOT NULL AND external_id IS NOT NULL "
        "      ORDER BY source, external_id, fetched_at DESC, id DESC) AS r "
        "WHERE r.source = s.source AND r.external_id = s.external_id"
    )
    op.create_index("ix_lead_sources_source_region", "lead_sources", ["source", "region"], unique=False)
    op.drop_constraint(op.f("ck_leads_status_valid"), "leads", type_="check")
    op.create_check_constraint(op.f("ck_leads_status_valid"), "leads", STATUSES_AFTER)
    op.create_index(
        "ix_leads_on_market_posted_at",
        "leads",
        ["posted_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('AVAILABLE', 'SOLD_OUT')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_leads_on_market_posted_at",
        table_name="leads",
        postgresql_where=sa.text("status IN ('AVAILABLE', 'SOLD_OUT')"),
    )
    # an EXPIRED lead was off the market: WITHDRAWN is the closest status the old schema has
    op.execute("UPDATE leads SET status = 'WITHDRAWN' WHERE status = 'EXPIRED'")
    op.drop_constraint(op.f("ck_leads_status_valid"), "leads", type_="check")
    op.create_check_constraint(op.f("ck_leads_status_valid"), "leads", STATUSES_BEFORE)
    op.drop_index("ix_lead_sources_source_region", table_name="lead_sources")
    op.drop_column("lead_sources", "missed_scrapes")
    op.drop_column("lead_sources", "region")
    op.drop_index("ix_scrape_runs_source_region_started", table_name="scrape_runs")
    op.drop_table("scrape_runs")
