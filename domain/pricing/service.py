"""Repricing: read demand from Redis, run the engine, save prices and history, publish changes.

Services ``flush`` through their statements but never commit: the caller (a worker job) owns the
transaction and calls ``publish_changes`` only after it committed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.events import PRICE_CHANNEL
from aiqleads.domain.pricing import repository as repo
from aiqleads.domain.pricing import signals
from aiqleads.domain.pricing.engine import (
    DEFAULT_POLICY,
    NO_DEMAND,
    LeadFacts,
    PriceHint,
    PricingPolicy,
    compute_price,
)
from aiqleads.domain.pricing.hints import HintRequest, PriceHinter
from aiqleads.domain.pricing.signals import DEFAULT_SIGNAL_POLICY, SignalPolicy

HINT_CONCURRENCY = 4


@dataclass(frozen=True)
class PriceChange:
    """A committed (or about to be committed) change of a lead's credit price."""

    lead_id: uuid.UUID
    old_price: int
    new_price: int
    at: datetime
    lat: float
    lng: float
    reason: str = ""

    def payload(self) -> dict[str, Any]:
        """The event published on PRICE_CHANNEL."""
        return {
            "lead_id": str(self.lead_id),
            "old_price": self.old_price,
            "new_price": self.new_price,
            "at": self.at.isoformat(),
            "lat": self.lat,
            "lng": self.lng,
        }


@dataclass
class RepriceOutcome:
    """What one repricing batch did."""

    changes: list[PriceChange] = field(default_factory=list)
    processed: list[uuid.UUID] = field(default_factory=list)  # evaluated (changed or not)
    locked: set[uuid.UUID] = field(default_factory=set)  # skipped: row locked elsewhere, retry later
    missing: set[uuid.UUID] = field(default_factory=set)  # no such lead


async def reprice_batch(
    session: AsyncSession,
    redis: Redis,
    lead_ids: Sequence[uuid.UUID],
    now: datetime,
    hints: Mapping[uuid.UUID, PriceHint] | None = None,
    *,
    policy: PricingPolicy = DEFAULT_POLICY,
    signal_policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> RepriceOutcome:
    """Reprice these leads (locking them; rows locked by others are reported, not waited for)."""
    unique = list(dict.fromkeys(lead_ids))
    rows = await repo.lock_leads(session, unique)
    outcome = await _reprice_rows(session, redis, rows, now, hints or {}, policy, signal_policy)
    absent = set(unique) - {row.id for row in rows}
    if absent:
        existing = await repo.existing_ids(session, list(absent))
        outcome.locked = existing
        outcome.missing = absent - existing
    return outcome


async def reprice_leads(
    session: AsyncSession,
    redis: Redis,
    lead_ids: Sequence[uuid.UUID],
    now: datetime,
    hint: Mapping[uuid.UUID, PriceHint] | None = None,
    *,
    policy: PricingPolicy = DEFAULT_POLICY,
) -> list[PriceChange]:
    """Reprice these leads now; returns the price changes (publish them after the commit)."""
    return (await reprice_batch(session, redis, lead_ids, now, hint, policy=policy)).changes


async def reprice_due(
    session: AsyncSession,
    redis: Redis,
    now: datetime,
    limit: int,
    *,
    policy: PricingPolicy = DEFAULT_POLICY,
    signal_policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> RepriceOutcome:
    """Reprice up to `limit` leads whose freshness tick is due (each gets a later tick or none)."""
    rows = await repo.lock_due_leads(session, now, limit)
    return await _reprice_rows(session, redis, rows, now, {}, policy, signal_policy)


async def _reprice_rows(
    session: AsyncSession,
    redis: Redis,
    rows: Sequence[repo.PricingRow],
    now: datetime,
    hints: Mapping[uuid.UUID, PriceHint],
    policy: PricingPolicy,
    signal_policy: SignalPolicy,
) -> RepriceOutcome:
    outcome = RepriceOutcome()
    if not rows:
        return outcome
    available = [row.id for row in rows if row.status == "AVAILABLE"]
    demand = await signals.read_demand(redis, available, now=now.timestamp(), policy=signal_policy)
    updates: list[repo.PriceUpdate] = []
    history: list[repo.HistoryRow] = []
    for row in rows:
        outcome.processed.append(row.id)
        if row.status != "AVAILABLE":  # sold out or withdrawn: nothing to price until it returns
            updates.append(repo.PriceUpdate(row.id, row.price_credits, None))
            continue
        quote = compute_price(
            LeadFacts.of(row), demand.get(row.id, NO_DEMAND), row.price_credits, now,
            hint=hints.get(row.id), policy=policy,
        )  # fmt: skip
        updates.append(repo.PriceUpdate(row.id, quote.price, quote.next_reprice_at))
        if quote.price != row.price_credits:
            history.append(repo.HistoryRow(row.id, quote.price, quote.reason))
            outcome.changes.append(
                PriceChange(row.id, row.price_credits, quote.price, now, row.lat, row.lng, quote.reason)
            )
    await repo.apply_updates(session, updates, now)
    await repo.insert_history(session, history, now)
    return outcome


async def hint_requests(
    session: AsyncSession,
    redis: Redis,
    lead_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    policy: PricingPolicy = DEFAULT_POLICY,
    signal_policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[HintRequest]:
    """What a hinter needs for these leads (read without locks, before the repricing transaction)."""
    rows = [row for row in await repo.read_leads(session, lead_ids) if row.status == "AVAILABLE"]
    demand = await signals.read_demand(
        redis, [row.id for row in rows], now=now.timestamp(), policy=signal_policy
    )
    requests = []
    for row in rows:
        facts = LeadFacts.of(row)
        lead_demand = demand.get(row.id, NO_DEMAND)
        quote = compute_price(facts, lead_demand, row.price_credits, now, policy=policy)
        requests.append(HintRequest(row.id, facts, lead_demand, quote))
    return requests


async def suggest_hints(hinter: PriceHinter, requests: Sequence[HintRequest]) -> dict[uuid.UUID, PriceHint]:
    """Ask the hinter about each lead (bounded concurrency); leads without a hint are left out."""
    gate = asyncio.Semaphore(HINT_CONCURRENCY)

    async def one(request: HintRequest) -> tuple[uuid.UUID, PriceHint | None]:
        async with gate:
            return request.lead_id, await hinter.suggest(request)

    results = await asyncio.gather(*(one(r) for r in requests))
    return {lead_id: hint for lead_id, hint in results if hint is not None}


async def publish_changes(redis: Redis, changes: Sequence[PriceChange]) -> None:
    """Publish committed price changes on PRICE_CHANNEL (one pipelined round trip)."""
    if not changes:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for change in changes:
            pipe.publish(PRICE_CHANNEL, json.dumps(change.payload()))
        await pipe.execute()
