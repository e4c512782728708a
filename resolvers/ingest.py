"""Resolvers of aggregation: the newLeads subscription (instant alerts for freshly ingested leads)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiqleads.domain.core.lead import Lead
from aiqleads.domain.events import NEW_LEADS_CHANNEL
from aiqleads.domain.ingest.events import event_matches
from aiqleads.domain.leads import repository as leads_repo
from aiqleads.resolvers.context import Context
from aiqleads.resolvers.leads import filter_spec
from aiqleads.resolvers.subscriptions import fresh_per_event


async def new_leads(ctx: Context, filter_input: Any) -> AsyncIterator[Lead]:
    """Leads announced by ingestion (any worker or CLI process) that match the filter, as they come."""
    spec = filter_spec(filter_input)  # INVALID_INPUT before the stream starts
    async for payload in fresh_per_event(ctx, ctx.deps.event_hub.subscribe(NEW_LEADS_CHANNEL)):
        lead_id = event_matches(spec, payload)
        if lead_id is None:
            continue
        async with ctx.read_session() as session:
            row = await leads_repo.get_lead(session, lead_id)
        if row is not None:
            yield row
