"""Cart effects recorded on a unit of work: events, hold deadlines, demand signals, reindexing."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.timers import TimerStore
from aiqleads.domain.core.interactions import (
    Interaction,
    InteractionKind,
    interaction,
    record_interactions,
    user_of_actor,
)
from aiqleads.domain.events import cart_channel
from aiqleads.domain.jobs import JobName, enqueue, profile_update_job_id
from aiqleads.domain.pricing.signals import SignalKind, record_signals
from aiqleads.domain.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def schedule_deadlines(uow: UnitOfWork, deadlines: list[tuple[uuid.UUID, datetime]]) -> None:
    """Arm these hold deadlines in the shared timer set after the commit (reconciliation repairs
    a deadline that could not be armed)."""
    if not deadlines:
        return
    store = TimerStore.for_settings(uow.deps.redis, uow.settings)
    uow.after_commit(f"arm {len(deadlines)} hold deadline(s)", lambda: store.arm(list(deadlines)))


def record_demand(uow: UnitOfWork, signals: list[tuple[uuid.UUID, SignalKind, str]]) -> None:
    """Count these demand signals after the commit, in one pipelined round trip (a lost one only
    slightly skews pricing)."""
    if not signals:
        return
    redis, queue = uow.deps.redis, uow.settings.arq_queue_name
    items: list[tuple[uuid.UUID, SignalKind, str | None]] = list(signals)
    uow.after_commit(f"{len(items)} demand signal(s)", lambda: record_signals(redis, items, queue_name=queue))


_PROFILE_KINDS = {"cart_add": InteractionKind.HOLD, "purchase": InteractionKind.BUY}


def record_profile_interactions(uow: UnitOfWork, items: list[Interaction]) -> None:
    """After the commit, buffer the buyers' holds and buys and trigger their profile update."""
    if not items:
        return
    redis, arq, queue = uow.deps.redis, uow.deps.arq, uow.settings.arq_queue_name

    async def send() -> None:
        if await record_interactions(redis, queue, items):
            await enqueue(arq, queue, JobName.UPDATE_PROFILES, job_id=profile_update_job_id(queue))

    uow.after_commit(f"buffer {len(items)} interaction(s)", send)


def record_cart_effects(uow: UnitOfWork, effects: Effects) -> None:
    """Record what a cart change leaves to do after its commit: deadlines, events, demand, index."""
    schedule_deadlines(uow, effects.timers)
    for event in effects.events:
        uow.publish(cart_channel(event.user_id), event.payload())
    record_demand(uow, list(effects.signals))
    profile_items: list[Interaction] = []
    for lead_id, kind, actor in effects.signals:
        user_id = user_of_actor(actor)
        if user_id is not None and kind in _PROFILE_KINDS:
            profile_items.append(interaction(user_id, lead_id, _PROFILE_KINDS[kind]))
    record_profile_interactions(uow, profile_items)
    uow.reindex(effects.touched_leads())
