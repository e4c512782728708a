"""A loopback server speaking OpenAI's ``POST /v1/embeddings`` wire format, so the real
langchain-openai client (and the openai SDK under it) can be exercised without the real service."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from aiqtest_support.local_http import LoopbackServer


def fake_vector(item: str | list[int], dimensions: int) -> list[float]:
    """A deterministic, deliberately unnormalised vector for one input (a string or token array)."""
    key = item if isinstance(item, str) else ",".join(map(str, item))
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    values = np.random.default_rng(seed).normal(0.0, 3.0, dimensions) + 0.5
    return [float(v) for v in values]


@dataclass
class OpenAIEmbeddingsServer:
    """Answers embeddings requests with ``fake_vector`` rows.

    mode: "ok"; "http_500" (every request fails); "wrong_dims" (``wrong_dimensions`` floats, whatever
    was asked). Requests (JSON bodies) and their lower-cased headers are recorded.
    """

    mode: str = "ok"
    wrong_dimensions: int = 512
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""
    _server: LoopbackServer = field(default_factory=LoopbackServer)

    async def start(self) -> str:
        """Bind to a free loopback port; returns the base URL (without /v1)."""
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        self.base_url = await self._server.serve(app)
        return self.base_url

    async def stop(self) -> None:
        """Stop the server."""
        await self._server.stop()

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        if self.mode == "http_500":
            return web.json_response({"error": {"message": "overloaded", "type": "server_error"}}, status=500)
        inputs = body["input"]
        if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
            inputs = [inputs]  # one string, or one token array
        dimensions = int(body.get("dimensions") or 1536)
        if self.mode == "wrong_dims":
            dimensions = self.wrong_dimensions
        base64_encoded = body.get("encoding_format") == "base64"
        data = []
        for index, item in enumerate(inputs):
            vector = fake_vector(item, dimensions)
            embedding: Any = vector
            if base64_encoded:
                embedding = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(item.split()) if isinstance(item, str) else len(item) for item in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
