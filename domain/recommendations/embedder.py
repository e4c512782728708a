"""The embedder interface and the factory that picks the configured implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from aiqleads.domain.settings import Settings

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors of ``core.lead.EMBEDDING_DIM`` floats.

    ``model_id`` is stored with every vector (``leads.embedding_model``): vectors of different
    models are never compared. ``embed`` never blocks the event loop (the local model runs in a
    worker thread).
    """

    @property
    def model_id(self) -> str:
        """The model (and dimension) the vectors come from, e.g. ``all-MiniLM-L6-v2-onnx-int8``."""
        ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """An ``(len(texts), EMBEDDING_DIM)`` float32 array, one unit-length row per text."""
        ...

    async def aclose(self) -> None:
        """Release the model or client."""
        ...


def configured_model_id(settings: Settings) -> str:
    """The model id the configured embedder writes, without loading it (queries compare only these)."""
    if settings.embedder == "openai":
        from aiqleads.domain.recommendations.openai_embedder import openai_model_id

        return openai_model_id(settings)
    from aiqleads.domain.recommendations.local_minilm import LOCAL_MODEL_ID

    return LOCAL_MODEL_ID


def build_embedder(settings: Settings) -> Embedder:
    """The embedder ``AIQ_EMBEDDER`` names: ``local`` (default) or ``openai``."""
    if settings.embedder == "openai":
        from aiqleads.domain.recommendations.openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    from aiqleads.domain.recommendations.local_minilm import LocalMiniLM

    return LocalMiniLM(settings)
