"""The buffer of buyer interactions (view, hold, buy) that the worker turns into profiles.

Requests only append to a Redis list (one round trip, no SQL, never waiting for a profile); the
worker's ``update_profiles`` job drains it in batches. A buy is also the trigger for its profile
update: the purchase itself is read from ``purchases``, so a lost entry never loses a purchase
from a profile, only delays it until the buyer's next interaction or ``aiqleads reembed``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class InteractionKind(StrEnum):
    """What a buyer did with a lead; each kind has its weight in the profile."""

    VIEW = "VIEW"
    HOLD = "HOLD"
    BUY = "BUY"


WEIGHTS: dict[InteractionKind, float] = {
    InteractionKind.VIEW: 1.0,
    InteractionKind.HOLD: 3.0,
    InteractionKind.BUY: 5.0,
}


@dataclass(frozen=True)
class Interaction:
    """One buyer action on one lead, at a Unix time."""

    user_id: uuid.UUID
    lead_id: uuid.UUID
    kind: InteractionKind
    at: float

    def encode(self) -> bytes:
        """The buffer entry: ``user|lead|kind|unix time``."""
        return f"{self.user_id}|{self.lead_id}|{self.kind}|{self.at:.3f}".encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> Interaction | None:
        """An entry back (None for a malformed one, which is dropped)."""
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            user, lead, kind, at = text.split("|")
            return cls(uuid.UUID(user), uuid.UUID(lead), InteractionKind(kind), float(at))
        except ValueError:
            return None


def buffer_key(queue_name: str) -> str:
    """The Redis list of interactions not yet applied to profiles, per deployment (arq queue)."""
    return f"aiq:interactions:{queue_name}"


def user_of_actor(actor: str | None) -> uuid.UUID | None:
    """The user id of a ``user:<id>`` actor (API keys and addresses have no profile)."""
    if actor is None or not actor.startswith("user:"):
        return None
    try:
        return uuid.UUID(actor.removeprefix("user:"))
    except ValueError:
        return None


async def record_interactions(redis: Redis, queue_name: str, items: Iterable[Interaction]) -> bool:
    """Append interactions to the buffer (one round trip); False (logged) if Redis refused."""
    payload = [item.encode() for item in items]
    if not payload:
        return True
    try:
        await redis.rpush(buffer_key(queue_name), *payload)  # type: ignore[misc]
    except RedisError:
        log.warning("could not record %d interaction(s)", len(payload), exc_info=True)
        return False
    return True


def queue_interactions(pipe: Pipeline, queue_name: str, items: Iterable[Interaction]) -> None:
    """``record_interactions``' command on a pipeline (sent with other effects of one commit)."""
    payload = [item.encode() for item in items]
    if payload:
        pipe.rpush(buffer_key(queue_name), *payload)


def interaction(user_id: uuid.UUID, lead_id: uuid.UUID, kind: InteractionKind) -> Interaction:
    """An interaction happening now."""
    return Interaction(user_id, lead_id, kind, time.time())
