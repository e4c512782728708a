"""After-commit side effects of cart changes: events, timers and demand signals."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from aiqleads.domain.cart.events import Effects
from aiqleads.domain.cart.timers import TimerStore
from aiqleads.domain.events import cart_channel, publish
from aiqleads.domain.jobs import enqueue_reindex
from aiqleads.domain.pricing.signals import record_signal
from aiqleads.domain.settings import Settings

log = logging.getLogger(__name__)


async def run_effects(redis: Redis, settings: Settings, effects: Effects) -> None:
    """Publish events, arm timers, record demand and refresh search; call only after the commit.

    The change is already committed, so a Redis failure here is logged, not raised: a missed
    timer is re-armed by reconciliation, a missed signal only slightly skews pricing.
    """
    try:
        await TimerStore.for_settings(redis, settings).arm(effects.timers)
    except Exception:
        log.exception("could not arm %d hold timer(s); reconciliation will", len(effects.timers))
    for event in effects.events:
        try:
            await publish(redis, cart_channel(event.user_id), event.payload())
        except Exception:
            log.exception("could not publish %s for user %s", event.kind, event.user_id)
    for lead_id, kind, actor in effects.signals:
        try:
            await record_signal(redis, lead_id, kind, queue_name=settings.arq_queue_name, actor=actor)
        except Exception:
            log.exception("could not record %s signal for lead %s", kind, lead_id)
    await enqueue_reindex(redis, settings.arq_queue_name, effects.touched_leads())
