"""The OpenAI embedder with the REAL langchain-openai client (and the openai SDK under it) against a
loopback server speaking the ``POST /v1/embeddings`` wire format: the request, normalisation, order,
wrong dimensions and server errors; nothing is tokenized or downloaded locally."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio
from aiqtest_support.openai_embeddings_server import OpenAIEmbeddingsServer, fake_vector

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.recommendations.embedder import build_embedder, configured_model_id
from aiqleads.domain.recommendations.openai_embedder import OpenAIEmbedder, openai_model_id
from aiqleads.domain.settings import Settings

API_KEY = "sk-test-embeddings"
TEXTS = [
    "condo in Austin, TX: 3 bed 3 bath condo near Centennial Park",
    "land in Phoenix, AZ: 5 acre vacant lot",
    "condo in Austin, TX: 3 bed 3 bath condo near Centennial Park",
    "single family in Tampa, FL: Bright 4 bed home in New Tampa",
]


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[OpenAIEmbeddingsServer]:
    wire = OpenAIEmbeddingsServer()
    await wire.start()
    yield wire
    await wire.stop()


def _config(server: OpenAIEmbeddingsServer, timeout: float = 10.0) -> Settings:
    return Settings().replace(
        embedder="openai",
        openai_api_key=API_KEY,
        openai_base_url=f"{server.base_url}/v1",  # the SDK's base_url includes /v1
        llm_timeout_seconds=timeout,
    )


@pytest.fixture(autouse=True)
def no_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a tiktoken encoding would download it: the embedder must never need one."""
    import tiktoken

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tiktoken was asked for an encoding")

    monkeypatch.setattr(tiktoken, "get_encoding", refuse)
    monkeypatch.setattr(tiktoken, "encoding_for_model", refuse)


async def test_request_carries_model_dimensions_and_key(server: OpenAIEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(_config(server))
    try:
        before = len(server.requests)
        await embedder.embed(TEXTS)
    finally:
        await embedder.aclose()
    assert len(server.requests) == before + 1
    body, headers = server.requests[before], server.headers[before]
    assert body["model"] == "text-embedding-3-small"
    assert body["dimensions"] == EMBEDDING_DIM == 384
    assert body["input"] == TEXTS  # the texts as they are: no token arrays, no local tokenizer
    assert headers["authorization"] == f"Bearer {API_KEY}"


async def test_vectors_are_normalised_and_in_order(server: OpenAIEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(_config(server))
    try:
        vectors = await embedder.embed(TEXTS)
        reversed_vectors = await embedder.embed(TEXTS[::-1])
    finally:
        await embedder.aclose()
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(TEXTS, vectors, strict=True):
        raw = np.asarray(fake_vector(text, EMBEDDING_DIM), dtype=np.float32)
        assert np.linalg.norm(raw) > 10  # the server's vectors are far from unit length
        np.testing.assert_allclose(vector, raw / np.linalg.norm(raw), atol=1e-6)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(reversed_vectors, vectors[::-1], atol=1e-7)


async def test_base64_and_float_answers_decode_alike(server: OpenAIEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(_config(server))
    try:
        before = len(server.requests)
        default = await embedder.embed(TEXTS[:2])  # the SDK asks for base64 unless told otherwise
        floats = await embedder._embeddings.aembed_documents(TEXTS[:2], encoding_format="float")
    finally:
        await embedder.aclose()
    assert server.requests[before].get("encoding_format") == "base64"
    assert server.requests[before + 1]["encoding_format"] == "float"
    expected = np.asarray(floats, dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(default, expected, atol=1e-6)


async def test_a_vector_of_other_dimensions_is_an_error_naming_the_model(
    server: OpenAIEmbeddingsServer,
) -> None:
    server.mode = "wrong_dims"
    embedder = OpenAIEmbedder(_config(server))
    try:
        with pytest.raises(ValueError, match=r"text-embedding-3-small.*512 dimensions"):
            await embedder.embed(TEXTS)
    finally:
        server.mode = "ok"
        await embedder.aclose()


async def test_a_failing_server_raises_after_bounded_retries(server: OpenAIEmbeddingsServer) -> None:
    import openai

    server.mode = "http_500"
    embedder = OpenAIEmbedder(_config(server, timeout=5.0))
    before = len(server.requests)
    started = time.monotonic()
    try:
        with pytest.raises(openai.InternalServerError):
            await embedder.embed(TEXTS)
    finally:
        server.mode = "ok"
        await embedder.aclose()
    assert len(server.requests) - before == 3  # the first try and max_retries=2
    assert time.monotonic() - started < 10


async def test_empty_input_sends_nothing(server: OpenAIEmbeddingsServer) -> None:
    embedder = OpenAIEmbedder(_config(server))
    before = len(server.requests)
    try:
        vectors = await embedder.embed([])
    finally:
        await embedder.aclose()
    assert vectors.shape == (0, EMBEDDING_DIM) and vectors.dtype == np.float32
    assert len(server.requests) == before


async def test_model_id_and_the_factory(server: OpenAIEmbeddingsServer) -> None:
    config = _config(server).replace(openai_embedding_model="text-embedding-3-large")
    assert openai_model_id(config) == "openai/text-embedding-3-large@384"
    assert configured_model_id(config) == "openai/text-embedding-3-large@384"
    embedder = build_embedder(config)
    try:
        assert isinstance(embedder, OpenAIEmbedder)
        assert embedder.model_id == "openai/text-embedding-3-large@384"
    finally:
        await embedder.aclose()
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAIEmbedder(config.replace(openai_api_key=None))
