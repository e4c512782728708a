"""Repricing use cases: each batch is one unit of work whose price changes are announced (and the
search index refreshed) only after it commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from aiqleads.domain.pricing import service
from aiqleads.domain.pricing.engine import PriceHint
from aiqleads.domain.pricing.hints import PriceHinter
from aiqleads.domain.pricing.service import PriceChange, RepriceOutcome
from aiqleads.domain.unit_of_work import Backends, UnitOfWork, read_only


def record_price_changes(uow: UnitOfWork, changes: Sequence[PriceChange]) -> None:
    """Announce committed price changes on PRICE_CHANNEL and reindex the leads (ES sorts and
    filters on the price)."""
    if not changes:
        return
    redis, committed = uow.deps.redis, list(changes)
    uow.after_commit("publish price changes", lambda: service.publish_changes(redis, committed))
    uow.reindex(change.lead_id for change in changes)


async def hints_for(
    deps: Backends, hinter: PriceHinter | None, lead_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, PriceHint]:
    """LLM hints for these leads (none without a hinter); no connection is held during the call."""
    if hinter is None:
        return {}
    async with read_only(deps) as session:
        requests = await service.hint_requests(session, deps.redis, lead_ids, now)
    return await service.suggest_hints(hinter, requests)


async def reprice(
    deps: Backends,
    lead_ids: Sequence[uuid.UUID],
    now: datetime,
    hints: Mapping[uuid.UUID, PriceHint] | None = None,
) -> RepriceOutcome:
    """Reprice these leads in one unit of work."""
    async with UnitOfWork(deps) as uow:
        outcome = await service.reprice_batch(uow.session, deps.redis, lead_ids, now, hints)
        record_price_changes(uow, outcome.changes)
    return outcome


async def reprice_due(deps: Backends, now: datetime, limit: int) -> RepriceOutcome:
    """Reprice up to ``limit`` leads whose freshness tick is due, in one unit of work."""
    async with UnitOfWork(deps) as uow:
        outcome = await service.reprice_due(uow.session, deps.redis, now, limit)
        record_price_changes(uow, outcome.changes)
    return outcome
