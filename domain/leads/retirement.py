"""Taking leads off the market for good: WITHDRAWN (an operator's decision) or EXPIRED (the scrape
schedule found the listing gone, or the lead too old).

``retire_leads`` runs inside the caller's unit of work (the admin's ``withdrawLead`` adds its audit
row to the same transaction; lead expiry retires a batch per transaction). Under the leads' row
locks, taken in id order like every seat change, it:

- changes the status, only of leads still on the market or sold out (``RETIRABLE_FROM``): an
  EXPIRED lead may still be WITHDRAWN (the stronger, operator's word), a WITHDRAWN one never
  becomes EXPIRED, and a lead already in the target status is left alone;
- releases every hold on them (``cart/withdrawal.py``); each holder gets a ``LEAD_WITHDRAWN`` cart
  event after the commit;
- stops their freshness repricing (nobody can buy them).

Purchases stay: buyers keep the lead, its contact and their return rights. After the commit the
search index follows (the index job, through the unit of work): a retired lead is not available,
so it leaves ``searchLeads``, ``leads`` and recommendations for everyone else, exactly as a
WITHDRAWN lead always has (``core/seats.is_available``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.publishing import record_cart_effects
from aiqleads.domain.cart.withdrawal import release_holds_on
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.core.vocabulary import RETIRED_STATUSES
from aiqleads.domain.unit_of_work import Backends, UnitOfWork

log = logging.getLogger(__name__)

RETIRABLE_FROM: dict[str, tuple[str, ...]] = {
    "WITHDRAWN": ("AVAILABLE", "SOLD_OUT", "EXPIRED"),
    "EXPIRED": ("AVAILABLE", "SOLD_OUT"),
}


async def _lock_statuses(session: AsyncSession, lead_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Lock the leads FOR NO KEY UPDATE in id order (as the cart does); their current statuses."""
    rows = await session.execute(
        select(Lead.id, Lead.status)
        .where(Lead.id.in_(bindparam("ids", expanding=True)))
        .order_by(Lead.id)
        .with_for_update(key_share=True),
        {"ids": lead_ids},
    )
    return {lead_id: status for lead_id, status in rows.tuples()}


async def retire_leads(
    uow: UnitOfWork,
    lead_ids: Iterable[uuid.UUID],
    status: str,
    reason: str,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Retire these leads as ``status`` (WITHDRAWN or EXPIRED) in the caller's unit of work;
    returns the ids whose status changed, sorted (unknown or already retired leads are skipped)."""
    allowed = RETIRABLE_FROM.get(status)
    if allowed is None:
        raise ValueError(f"a lead is retired as one of {', '.join(RETIRED_STATUSES)}, not {status!r}")
    now = now or datetime.now(UTC)
    wanted = sorted(set(lead_ids))
    if not wanted:
        return []
    session = uow.session
    current = await _lock_statuses(session, wanted)
    chosen = [lead_id for lead_id in wanted if current.get(lead_id) in allowed]
    if not chosen:
        return []
    events = await release_holds_on(session, chosen, now)
    await session.execute(
        update(Lead)
        .where(Lead.id.in_(chosen))
        .values(status=status, holds_count=0, reprice_due_at=None)
        .execution_options(synchronize_session=False)
    )
    # the index follows the new status, and each holder hears about its released hold
    record_cart_effects(uow, Effects(events=events, changed_leads=set(chosen)))
    log.info("retired %d lead(s) as %s (%s), releasing %d hold(s)", len(chosen), status, reason, len(events))
    return chosen


async def retire(
    deps: Backends, lead_ids: Iterable[uuid.UUID], status: str, reason: str, now: datetime | None = None
) -> list[uuid.UUID]:
    """``retire_leads`` in a unit of work of its own."""
    async with UnitOfWork(deps) as uow:
        return await retire_leads(uow, lead_ids, status, reason, now)
