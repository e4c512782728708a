"""Recommendation jobs: embed leads after ingestion, sweep leads still without a vector, and apply
buffered buyer interactions to their profiles."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from arq import cron, func

from aiqleads.domain.jobs import JobName
from aiqleads.domain.recommendations.embedding import embed_leads, embed_missing
from aiqleads.domain.recommendations.profile_updates import update_profiles
from aiqleads.workers import context as wctx

log = logging.getLogger(__name__)


async def embed_leads_job(ctx: wctx.WorkerCtx, lead_ids: list[str]) -> str:
    """Give these leads a vector where their text or the model changed."""
    deps = wctx.deps(ctx)
    report = await embed_leads(deps, deps.lead_embedder, [uuid.UUID(str(v)) for v in lead_ids])
    return report.line()


async def embed_pending_job(ctx: wctx.WorkerCtx) -> str:
    """Cron: embed leads that still have no vector of the current model (a lost job, a new model);
    seeding and ``aiqleads reembed`` embed everything, this only repairs, a bounded batch a minute."""
    deps = wctx.deps(ctx)
    limit = deps.settings.embed_sweep_leads
    if limit == 0:
        return "sweep disabled"
    report = await embed_missing(deps, deps.lead_embedder, max_leads=limit)
    if report.embedded:
        log.info("sweep: %s", report.line())
    return report.line()


async def update_profiles_job(ctx: wctx.WorkerCtx) -> str:
    """Apply buffered views, holds and buys to the buyers' profiles."""
    deps = wctx.deps(ctx)
    return (await update_profiles(deps, deps.embedding_model)).line()


FUNCTIONS: dict[JobName, Any] = {
    JobName.EMBED_LEADS: embed_leads_job,
    JobName.EMBED_PENDING: embed_pending_job,
    # no result kept: the next trigger may reuse the job id as soon as this run ends
    JobName.UPDATE_PROFILES: func(update_profiles_job, name=str(JobName.UPDATE_PROFILES), keep_result=0),
}
CRON_JOBS: list[Any] = [
    cron(embed_pending_job, second=40, run_at_startup=True, unique=True),
    # views buffer without a trigger of their own: applied within 5 s
    cron(update_profiles_job, name="cron:update_profiles", second=set(range(0, 60, 5)), unique=True),
]
