"""An independent fp32 forward pass of all-MiniLM-L6-v2 in NumPy, for checking the ONNX embedder."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


def _erf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    # Abramowitz & Stegun 7.1.26 (max error 1.5e-7): BERT's gelu is the exact erf form.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread: these matrices are tiny, and OpenBLAS's threads on a busy machine (next to
    onnxruntime's) make each product ~10x slower. threadpoolctl is optional (not a declared dependency)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def load_safetensors(path: Path) -> dict[str, NDArray[np.float64]]:
    """Reads a safetensors file's F32 tensors as float64 arrays (no safetensors package needed)."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    body = memoryview(raw)[8 + header_len :]
    tensors: dict[str, NDArray[np.float64]] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(meta["shape"]).astype(np.float64)
    return tensors


def _layer_norm(
    x: NDArray[np.float64], weight: NDArray[np.float64], bias: NDArray[np.float64]
) -> NDArray[np.float64]:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * weight + bias


class ReferenceMiniLM:
    """all-MiniLM-L6-v2 as sentence-transformers runs it: BERT, mean pooling, L2 normalisation."""

    def __init__(self, safetensors_path: Path) -> None:
        self.w = load_safetensors(safetensors_path)
        # linear layers' weights transposed once, contiguous: BLAS on a transposed view is ~10x slower
        self._wt = {
            name.removesuffix(".weight"): np.ascontiguousarray(value.T)
            for name, value in self.w.items()
            if name.startswith("encoder.") and name.endswith(".weight") and value.ndim == 2
        }

    def _linear(self, x: NDArray[np.float64], name: str) -> NDArray[np.float64]:
        return x @ self._wt[name] + self.w[f"{name}.bias"]

    def embed(self, ids: list[int]) -> NDArray[np.float64]:
        """One sentence's token ids (with [CLS]/[SEP]) → its unit-length 384-dimensional vector."""
        with _one_blas_thread():
            return self._embed(ids)

    def _embed(self, ids: list[int]) -> NDArray[np.float64]:
        w = self.w
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = x.shape[1] // _HEADS
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}"
            q, k, v = (
                self._linear(x, f"{p}.attention.self.{part}").reshape(n, _HEADS, head).transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(head)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = attn.transpose(1, 0, 2).reshape(n, -1)
            x = _layer_norm(
                x + self._linear(ctx, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            h = self._linear(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0)))
            x = _layer_norm(
                x + self._linear(h, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        pooled = x.mean(0)
        return pooled / np.linalg.norm(pooled)
