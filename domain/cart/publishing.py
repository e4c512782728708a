"""Cart effects recorded on a unit of work: events, hold deadlines, demand signals, reindexing."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.timers import TimerStore
from aiqleads.domain.events import cart_channel
from aiqleads.domain.pricing.signals import SignalKind, record_signal
from aiqleads.domain.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def schedule_deadlines(uow: UnitOfWork, deadlines: list[tuple[uuid.UUID, datetime]]) -> None:
    """Arm these hold deadlines in the shared timer set after the commit (reconciliation repairs
    a deadline that could not be armed)."""
    if not deadlines:
        return
    store = TimerStore.for_settings(uow.deps.redis, uow.settings)
    uow.after_commit(f"arm {len(deadlines)} hold deadline(s)", lambda: store.arm(list(deadlines)))


def record_demand(uow: UnitOfWork, lead_id: uuid.UUID, kind: SignalKind, actor: str) -> None:
    """Count one demand signal of a lead after the commit (a lost one only slightly skews pricing)."""
    redis, queue = uow.deps.redis, uow.settings.arq_queue_name
    uow.after_commit(
        f"{kind} signal", lambda: record_signal(redis, lead_id, kind, queue_name=queue, actor=actor)
    )


def record_cart_effects(uow: UnitOfWork, effects: Effects) -> None:
    """Record what a cart change leaves to do after its commit: deadlines, events, demand, index."""
    schedule_deadlines(uow, effects.timers)
    for event in effects.events:
        uow.publish(cart_channel(event.user_id), event.payload())
    for lead_id, kind, actor in effects.signals:
        record_demand(uow, lead_id, kind, actor)
    uow.reindex(effects.touched_leads())
