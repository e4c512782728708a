"""The ingest use case: store a prepared batch in one unit of work; after the commit the touched
leads are indexed and the created ones announced on newLeads."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.events import NEW_LEADS_CHANNEL
from aiqleads.domain.ingest.events import new_lead_event
from aiqleads.domain.ingest.prepare import PreparedBatch
from aiqleads.domain.ingest.store import IngestOutcome, store_batch
from aiqleads.domain.jobs import JobName, reindex_args
from aiqleads.domain.unit_of_work import Backends, UnitOfWork

# Indexes lead rows now and returns how many; the rows are those the transaction just wrote, so
# indexing them inline needs no second read of PostgreSQL.
LeadIndexer = Callable[[Sequence[Lead]], Awaitable[int]]


@dataclass
class Stored:
    """What storing one batch did, and how many new leads it announced."""

    outcome: IngestOutcome
    announced: int


async def store_prepared(deps: Backends, prepared: PreparedBatch, *, index_now: LeadIndexer | None) -> Stored:
    """Store a batch (one transaction); then index what changed (inline with ``index_now``,
    else through the index job) and announce what is new."""
    async with UnitOfWork(deps) as uow:
        outcome = await store_batch(uow.session, deps.settings, prepared)
        touched = dict(outcome.touched)

        async def inline(ids: Sequence[uuid.UUID]) -> object:
            assert index_now is not None
            return await index_now([touched[i] for i in ids if i in touched])

        uow.reindex(touched, indexer=inline if index_now is not None else None)
        if touched:  # new or changed text: the worker embeds it (never in this transaction)
            uow.enqueue(JobName.EMBED_LEADS, reindex_args(touched))
        announced = [touched[i] for i in outcome.created if i in touched]
        # one pipelined round trip for the page's announcements, in the same order
        uow.publish_many(NEW_LEADS_CHANNEL, [new_lead_event(lead) for lead in announced])
    return Stored(outcome, len(announced))
