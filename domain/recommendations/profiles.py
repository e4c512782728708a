"""A buyer's profile vector: the weighted mean of the leads they viewed (1), held (3) and bought (5),
each weighed down by its age with a half-life (14 days by default).

Decay by age is the same factor for every interaction when time passes, so the profile's direction
does not change between interactions: it is rebuilt only when the buyer does something.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiqleads.domain.core.interactions import WEIGHTS, InteractionKind

SUMMARY_GROUPS = 20
DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class ProfileInput:
    """One interaction behind a profile: what the buyer did, when, and the lead's vector and kind."""

    kind: InteractionKind
    at: float  # Unix time
    vector: np.ndarray
    property_type: str
    city: str
    state: str


@dataclass(frozen=True)
class Profile:
    """The unit-length profile vector, how many interactions built it, and what they were."""

    vector: np.ndarray
    interactions: int
    summary: list[dict[str, Any]]


def interaction_weights(inputs: Sequence[ProfileInput], half_life_days: float) -> np.ndarray:
    """Each interaction's weight: its kind's weight halved for every half-life it is older than the newest."""
    newest = max(item.at for item in inputs)
    half_life = half_life_days * DAY_SECONDS
    ages = np.array([newest - item.at for item in inputs], dtype=np.float64)
    kinds = np.array([WEIGHTS[item.kind] for item in inputs], dtype=np.float64)
    return kinds * np.exp2(-ages / half_life)


def build_profile(inputs: Sequence[ProfileInput], half_life_days: float) -> Profile | None:
    """The profile of these interactions (None without any, or when they cancel out)."""
    if not inputs:
        return None
    weights = interaction_weights(inputs, half_life_days)
    matrix = np.stack([item.vector.astype(np.float64) for item in inputs])
    mean = weights @ matrix
    norm = float(np.linalg.norm(mean))
    if norm == 0.0:
        return None
    groups = Counter((item.kind.value, item.property_type, item.city, item.state) for item in inputs)
    summary = [
        {"kind": kind, "property_type": ptype, "city": city, "state": state, "count": count}
        for (kind, ptype, city, state), count in groups.most_common(SUMMARY_GROUPS)
    ]
    return Profile((mean / norm).astype(np.float32), len(inputs), summary)
