"""Showing one lead: load it and count the view as a demand signal for pricing."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.domain.core.interactions import InteractionKind, interaction, record_interactions, user_of_actor
from aiqleads.domain.core.lead import Lead
from aiqleads.domain.leads import repository
from aiqleads.domain.pricing.signals import record_signal


async def view_lead(
    session: AsyncSession, redis: Redis, lead_id: uuid.UUID, *, queue_name: str, viewer: str
) -> Lead | None:
    """The lead (None when missing); an existing lead's view is recorded for pricing.

    ``viewer`` (``user:<id>``, ``key:<id>`` or ``ip:<addr>``) counts once per lead and demand
    window, so repeated views by one viewer cannot pump the price. Recording is one Redis round
    trip and no SQL, and a read has nothing to commit, so it happens right away. A signed-in
    buyer's view is also buffered for their profile (sent alongside; the worker applies it).
    """
    row = await repository.get_lead(session, lead_id)
    if row is not None:
        signal = record_signal(redis, row.id, "view", queue_name=queue_name, actor=viewer)
        user_id = user_of_actor(viewer)
        if user_id is None:
            await signal
        else:  # both calls swallow Redis errors, so one cannot cancel the other
            view = interaction(user_id, row.id, InteractionKind.VIEW)
            await asyncio.gather(signal, record_interactions(redis, queue_name, [view]))
    return row
