"""The hosted embedder: OpenAI's embeddings endpoint (``text-embedding-3-small`` by default) through
LangChain's ``OpenAIEmbeddings``, asking for ``EMBEDDING_DIM`` dimensions so its vectors fit the same
column as the local model's (they are never compared with them: the model id differs).

LangChain is imported when the embedder is built, not with this module. The texts are sent as they
are (``check_embedding_ctx_length=False``): no tiktoken encoding is loaded or downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.recommendations.embedder import Vectors
from aiqleads.domain.settings import Settings


def openai_model_id(settings: Settings) -> str:
    """The id stored with the configured OpenAI model's vectors: ``openai/text-embedding-3-small@384``."""
    return f"openai/{settings.openai_embedding_model}@{EMBEDDING_DIM}"


class OpenAIEmbedder:
    """Unit-length ``EMBEDDING_DIM``-float vectors from the OpenAI embeddings API."""

    def __init__(self, settings: Settings) -> None:
        if not settings.openai_api_key:
            raise ValueError("the OpenAI embedder needs OPENAI_API_KEY")
        from langchain_openai import OpenAIEmbeddings

        self.model = settings.openai_embedding_model
        self._model_id = openai_model_id(settings)
        self._embeddings: Any = OpenAIEmbeddings(
            model=self.model,
            dimensions=EMBEDDING_DIM,
            api_key=settings.openai_api_key,  # type: ignore[arg-type]
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_seconds,
            max_retries=2,
            check_embedding_ctx_length=False,
        )

    @property
    def model_id(self) -> str:
        """The id stored with every vector this model writes."""
        return self._model_id

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text, in order; ``ValueError`` when the API answers another shape."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        rows: list[list[float]] = await self._embeddings.aembed_documents(list(texts))
        if len(rows) != len(texts):
            raise ValueError(f"{self.model} returned {len(rows)} vectors for {len(texts)} texts")
        for row in rows:
            if len(row) != EMBEDDING_DIM:
                raise ValueError(
                    f"{self.model} returned a vector of {len(row)} dimensions, not {EMBEDDING_DIM}"
                )
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), EMBEDDING_DIM)
        if not np.isfinite(vectors).all():
            raise ValueError(f"{self.model} returned a vector with non-finite values")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        result: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return result

    async def aclose(self) -> None:
        """Close the HTTP clients of the OpenAI SDK."""
        async_resource = getattr(self._embeddings, "async_client", None)
        async_client = getattr(async_resource, "_client", None)
        if async_client is not None:
            await async_client.close()
        sync_resource = getattr(self._embeddings, "client", None)
        sync_client = getattr(sync_resource, "_client", None)
        if sync_client is not None:
            sync_client.close()
