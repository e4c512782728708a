"""Maximal marginal relevance: pick results that are relevant and unlike the ones already picked."""

from __future__ import annotations

import numpy as np


def mmr_order(relevance: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Indices of ``k`` items chosen greedily by ``lam * relevance - (1 - lam) * max similarity``
    to those already chosen (``vectors`` unit-length rows; ``lam`` 1 is plain relevance order)."""
    n = len(relevance)
    k = min(k, n)
    if k <= 0:
        return []
    chosen: list[int] = []
    closest = np.full(n, -np.inf)  # each item's highest similarity to a chosen one
    left = np.ones(n, dtype=bool)
    for _ in range(k):
        penalty = np.where(np.isfinite(closest), closest, 0.0)
        score = lam * relevance - (1.0 - lam) * penalty
        score[~left] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        left[pick] = False
        closest = np.maximum(closest, vectors @ vectors[pick])
    return chosen
