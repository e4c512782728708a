"""public location for geo queries, fraud score at purchase

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 08:51:19.745031+00:00
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column(
            "public_location",
            geoalchemy2.types.Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            sa.Computed("ST_SnapToGrid(location::geometry, 0.01)::geography", persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_leads_public_location_gist", "leads", ["public_location"], unique=False, postgresql_using="gist"
    )
    op.add_column("purchases", sa.Column("fraud_score_at_purchase", sa.Float(), nullable=True))
    op.execute(
        "UPDATE purchases p SET fraud_score_at_purchase = l.fraud_score FROM leads l WHERE l.id = p.lead_id"
    )


def downgrade() -> None:
    op.drop_column("purchases", "fraud_score_at_purchase")
    op.drop_index("ix_leads_public_location_gist", table_name="leads", postgresql_using="gist")
    op.drop_column("leads", "public_location")
