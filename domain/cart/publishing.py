"""Cart effects recorded on a unit of work: events, hold deadlines, demand signals, reindexing."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from redis.asyncio.client import Pipeline

from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.timers import TimerStore
from aiqleads.domain.core.interactions import (
    Interaction,
    InteractionKind,
    interaction,
    queue_interactions,
    user_of_actor,
)
from aiqleads.domain.events import cart_channel
from aiqleads.domain.jobs import JobName, profile_update_job_id, queue_enqueue
from aiqleads.domain.pricing.signals import SignalKind, queue_signals, reprice_bursts
from aiqleads.domain.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def schedule_deadlines(uow: UnitOfWork, deadlines: list[tuple[uuid.UUID, datetime]]) -> None:
    """Arm these hold deadlines in the shared timer set after the commit (reconciliation repairs
    a deadline that could not be armed)."""
    if not deadlines:
        return
    store = TimerStore.for_settings(uow.deps.redis, uow.settings)
    items = list(deadlines)
    # armed before the answer: a crash right after it must not leave the hold to reconciliation
    uow.after_commit_redis(
        f"arm {len(items)} hold deadline(s)", lambda pipe: store.queue_arm(pipe, items), before_answer=True
    )


def record_demand(uow: UnitOfWork, signals: list[tuple[uuid.UUID, SignalKind, str]]) -> None:
    """Count these demand signals after the commit, in one pipelined round trip (a lost one only
    slightly skews pricing)."""
    if not signals:
        return
    redis, queue = uow.deps.redis, uow.settings.arq_queue_name
    items: list[tuple[uuid.UUID, SignalKind, str | None]] = list(signals)
    uow.after_commit_redis(
        f"{len(items)} demand signal(s)",
        lambda pipe: queue_signals(pipe, items, queue_name=queue),
        lambda replies: reprice_bursts(redis, items, replies, queue_name=queue),
    )


_PROFILE_KINDS = {"cart_add": InteractionKind.HOLD, "purchase": InteractionKind.BUY}


def record_profile_interactions(uow: UnitOfWork, items: list[Interaction]) -> None:
    """After the commit, buffer the buyers' holds and buys and trigger their profile update."""
    if not items:
        return
    arq, queue = uow.deps.arq, uow.settings.arq_queue_name

    def queue_buffer(pipe: Pipeline) -> None:
        # the update job in the same round trip: one already queued absorbs it (its job id), and
        # with the buffer refused it finds nothing new
        queue_interactions(pipe, queue, items)
        queue_enqueue(pipe, arq, queue, JobName.UPDATE_PROFILES, job_id=profile_update_job_id(queue))

    uow.after_commit_redis(f"buffer {len(items)} interaction(s)", queue_buffer)


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
