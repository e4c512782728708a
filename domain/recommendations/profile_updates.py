"""Applying buffered interactions to buyer profiles (the worker's job, never a request)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiqleads.domain.core.interactions import Interaction, buffer_key
from aiqleads.domain.recommendations import profile_store as store
from aiqleads.domain.recommendations.profiles import build_profile
from aiqleads.domain.unit_of_work import Backends, UnitOfWork, read_only

log = logging.getLogger(__name__)

DRAIN_CHUNK = 1000
MAX_DRAINED = 20_000  # per run: a long backlog is worked off by the next runs, one transaction each


@dataclass(frozen=True)
class ProfileReport:
    """What one run applied: interactions read from the buffer and profiles rebuilt."""

    interactions: int
    profiles: int

    def line(self) -> str:
        """One summary line for logs and the CLI."""
        return f"applied {self.interactions} interaction(s), rebuilt {self.profiles} profile(s)"


async def _rebuild(uow: UnitOfWork, user_ids: Iterable[uuid.UUID], model_id: str) -> int:
    count = 0
    for user_id in sorted(set(user_ids)):
        inputs = await store.profile_inputs(uow.session, user_id, model_id)
        await store.save_profile(
            uow.session, user_id, model_id, build_profile(inputs, uow.settings.profile_half_life_days)
        )
        count += 1
    return count


async def update_profiles(deps: Backends, model_id: str) -> ProfileReport:
    """Drain the interaction buffer, record views and holds, rebuild the profiles they touch.

    Entries are taken off the buffer before the transaction; if it fails they are put back, so an
    outage delays an interaction and never drops it.
    """
    key = buffer_key(deps.settings.arq_queue_name)
    raw: list[bytes] = []
    while len(raw) < MAX_DRAINED:
        chunk = await deps.redis.lpop(key, DRAIN_CHUNK)  # type: ignore[misc]
        if not chunk:
            break
        raw.extend(chunk)
    items = [i for i in (Interaction.decode(r) for r in raw) if i is not None]
    if not items:
        return ProfileReport(0, 0)
    try:
        async with UnitOfWork(deps) as uow:
            await store.upsert_interactions(uow.session, items)
            rebuilt = await _rebuild(uow, (i.user_id for i in items), model_id)
    except BaseException:
        await deps.redis.lpush(key, *reversed(raw))  # type: ignore[misc]
        raise
    return ProfileReport(len(items), rebuilt)


async def rebuild_all_profiles(
    deps: Backends, model_id: str, progress: Callable[[str], None] | None = None
) -> int:
    """Rebuild every profile from its interactions with the vectors of ``model_id`` (after a reembed)."""
    async with read_only(deps) as session:
        users = await store.users_with_profiles(session)
    done = 0
    for start in range(0, len(users), 200):
        async with UnitOfWork(deps) as uow:
            done += await _rebuild(uow, users[start : start + 200], model_id)
    if progress is not None:
        progress(f"rebuilt {done:,} buyer profiles with {model_id}")
    return done
