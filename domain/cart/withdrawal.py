"""Holds on leads that leave the market: every one is released, and its holder told why.

The caller (``domain/leads/retirement.py``) holds the leads' row locks, as every hold change does,
and sets their ``holds_count`` to 0 with their new status. The holders' cart rows are not locked
(locks go cart → leads, and these leads are locked already), as when a hold that ran out is
reclaimed by another buyer (``expiry.release_expired_on_lead``): a cart left empty keeps its timer
until its owner's next cart change resets it, and nothing is charged for a hold, so nothing is
refunded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.cart import repository as repo
from aiqleads.domain.cart.events import CartEvent, CartEventKind
from aiqleads.domain.core.seats import Hold


async def release_holds_on(
    session: AsyncSession, lead_ids: Sequence[uuid.UUID], now: datetime
) -> list[CartEvent]:
    """Delete every hold on these leads (caller holds their locks); one event per hold for its
    holder: LEAD_WITHDRAWN for a live hold, HOLD_EXPIRED for one already past its deadline."""
    if not lead_ids:
        return []
    result = await session.execute(
        delete(Hold)
        .where(Hold.lead_id.in_(list(lead_ids)))
        .returning(Hold.user_id, Hold.lead_id, Hold.held_until)
        .execution_options(synchronize_session=False)
    )
    released = sorted(result.tuples(), key=lambda row: (row[0], row[1]))
    if not released:
        return []
    timers = await repo.cart_timers(session, sorted({user_id for user_id, _, _ in released}))
    events: list[CartEvent] = []
    for user_id, lead_id, held_until in released:
        cart_expires_at, remaining = timers.get(user_id, (None, 0))
        kind: CartEventKind = "LEAD_WITHDRAWN" if held_until > now else "HOLD_EXPIRED"
        events.append(
            CartEvent(user_id, kind, lead_id, held_until, cart_expires_at if remaining else None, now)
        )
    return events
