"""Search indexing jobs: keep Elasticsearch in step with PostgreSQL after leads change.

Use cases record ``uow.reindex(lead_ids)`` on their unit of work, which enqueues one
``JobName.INDEX_LEADS`` per commit. The job reads the leads' current state, so running it twice
is harmless.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiqleads.domain.jobs import JobName
from aiqleads.domain.search.indexer import refresh_leads
from aiqleads.workers import context as wctx


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


async def index_lead_job(ctx: wctx.WorkerCtx, lead_id: str) -> str:
    """Index one lead from PostgreSQL (or remove it from the index when it no longer exists)."""
    return await index_leads_job(ctx, [lead_id])


async def index_leads_job(ctx: wctx.WorkerCtx, lead_ids: list[str]) -> str:
    """Index many leads from PostgreSQL in one bulk request; deleted ones are removed."""
    deps = wctx.deps(ctx)
    ids = [_uuid(v) for v in lead_ids]
    indexed, removed = await refresh_leads(deps.sessionmaker, deps.es, deps.settings, ids)
    return f"indexed {indexed}, removed {removed}"


FUNCTIONS: dict[JobName, Any] = {JobName.INDEX_LEAD: index_lead_job, JobName.INDEX_LEADS: index_leads_job}
CRON_JOBS: list[Any] = []
