"""Search indexing jobs: keep Elasticsearch in step with PostgreSQL after leads change.

Enqueue after the commit that changed a lead, e.g.
`await arq_redis.enqueue_job("index_lead_job", str(lead.id), _queue_name=settings.arq_queue_name)`.
The job reads the lead's current state, so enqueueing it twice is harmless.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiqleads.domain.leads import repository as leads_repo
from aiqleads.domain.search.indexer import delete_lead, index_leads


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def index_lead_job(ctx: dict[str, Any], lead_id: str) -> str:
    """Index one lead from PostgreSQL (or remove it from the index when it no longer exists)."""
    return await index_leads_job(ctx, [lead_id])


async def index_leads_job(ctx: dict[str, Any], lead_ids: list[str]) -> str:
    """Index many leads from PostgreSQL in one bulk request; deleted ones are removed."""
    ids = [_uuid(v) for v in lead_ids]
    async with ctx["sessionmaker"]() as session:
        rows = await leads_repo.leads_for_index(session, ids)
    indexed = await index_leads(ctx["es"], ctx["settings"], rows)
    found = {row.id for row in rows}
    removed = 0
    for missing in (i for i in ids if i not in found):
        removed += int(await delete_lead(ctx["es"], ctx["settings"], missing))
    return f"indexed {indexed}, removed {removed}"


FUNCTIONS: list[Any] = [index_lead_job, index_leads_job]
CRON_JOBS: list[Any] = []
