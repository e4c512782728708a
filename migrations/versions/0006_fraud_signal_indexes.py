"""fraud signal lookups: indexes on contact phone/email and photos, a stored description fingerprint

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same expression the signal used to compute per row at query time (domain/core/lead.py)
FINGERPRINT = r"md5(lower(regexp_replace(description, '\s+', ' ', 'g')))"


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column(
            "description_fingerprint", sa.Text(), sa.Computed(FINGERPRINT, persisted=True), nullable=True
        ),
    )
    op.create_index("ix_leads_contact_phone", "leads", ["contact_phone"], unique=False)
    op.create_index("ix_leads_contact_email", "leads", ["contact_email"], unique=False)
    op.create_index("ix_leads_description_fingerprint", "leads", ["description_fingerprint"], unique=False)
    op.create_index("ix_leads_photos_gin", "leads", ["photos"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_leads_photos_gin", table_name="leads", postgresql_using="gin")
    op.drop_index("ix_leads_description_fingerprint", table_name="leads")
    op.drop_index("ix_leads_contact_email", table_name="leads")
    op.drop_index("ix_leads_contact_phone", table_name="leads")
    op.drop_column("leads", "description_fingerprint")
