"""Recommendation use cases called by the CLI and seeding (the worker's jobs call the parts)."""

from __future__ import annotations

from collections.abc import Callable

from aiqleads.domain.recommendations.embedder import Embedder
from aiqleads.domain.recommendations.embedding import EmbedReport, embed_missing
from aiqleads.domain.recommendations.profile_updates import rebuild_all_profiles
from aiqleads.domain.unit_of_work import Backends


async def reembed(deps: Backends, embedder: Embedder, progress: Callable[[str], None]) -> EmbedReport:
    """Embed every lead without a vector of the configured model, then rebuild every profile.

    After a model change that is every lead; interrupted, a second run carries on where the first
    stopped (finished batches are committed with the new model's id).
    """
    report = await embed_missing(deps, embedder, progress=progress)
    await rebuild_all_profiles(deps, embedder.model_id, progress)
    return report
