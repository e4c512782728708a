"""The pure rules of recommendations: MMR, profile weights and decay, reasons, the embedded text,
the interaction buffer format and the embedder settings."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import numpy as np
import pytest

from aiqleads.domain.core.interactions import Interaction, InteractionKind, user_of_actor
from aiqleads.domain.recommendations.lead_text import embedding_text, text_hash, type_phrase
from aiqleads.domain.recommendations.mmr import mmr_order
from aiqleads.domain.recommendations.profiles import ProfileInput, build_profile, interaction_weights
from aiqleads.domain.recommendations.reasons import recommendation_reason, similar_reason
from aiqleads.domain.settings import Settings

DAY = 86_400.0


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_mmr_with_lambda_one_is_relevance_order() -> None:
    """λ = 1: plain relevance order."""
    relevance = np.array([0.2, 0.9, 0.5, 0.7])
    vectors = np.stack([_unit(1, 0), _unit(1, 0.01), _unit(0, 1), _unit(1, 1)])
    assert mmr_order(relevance, vectors, 4, 1.0) == [1, 3, 2, 0]


def test_mmr_skips_copies_of_a_chosen_listing() -> None:
    """Three copies of one listing and one different one: the second pick is the different one."""
    copy = _unit(1, 0, 0)
    vectors = np.stack([copy, copy, copy, _unit(0, 1, 0)])
    relevance = np.array([0.95, 0.94, 0.93, 0.80])
    assert mmr_order(relevance, vectors, 2, 0.7) == [0, 3]
    assert mmr_order(relevance, vectors, 10, 0.7)[:2] == [0, 3]  # k larger than the pool: all, once
    assert sorted(mmr_order(relevance, vectors, 10, 0.7)) == [0, 1, 2, 3]
    assert mmr_order(relevance, vectors, 0, 0.7) == []


def _input(kind: InteractionKind, days_ago: float, vector: np.ndarray, city: str = "Austin") -> ProfileInput:
    return ProfileInput(kind, 1_000_000 * DAY - days_ago * DAY, vector, "CONDO", city, "TX")


def test_weights_view_hold_buy_and_the_half_life() -> None:
    """View 1, hold 3, buy 5; one half-life older halves, two quarter."""
    v = _unit(1, 0)
    inputs = [
        _input(InteractionKind.VIEW, 0, v),
        _input(InteractionKind.HOLD, 0, v),
        _input(InteractionKind.BUY, 0, v),
        _input(InteractionKind.BUY, 14, v),
        _input(InteractionKind.BUY, 28, v),
    ]
    assert interaction_weights(inputs, 14.0) == pytest.approx([1, 3, 5, 2.5, 1.25])
    assert interaction_weights(inputs, 7.0)[3] == pytest.approx(1.25)


def test_profile_is_the_weighted_mean_direction_and_independent_of_now() -> None:
    """A buy outweighs a view five to one; shifting every time by the same amount changes nothing."""
    a, b = _unit(1, 0), _unit(0, 1)
    profile = build_profile([_input(InteractionKind.BUY, 0, a), _input(InteractionKind.VIEW, 0, b)], 14.0)
    assert profile is not None
    assert profile.vector == pytest.approx(_unit(5, 1), abs=1e-6)
    later = build_profile([_input(InteractionKind.BUY, 30, a), _input(InteractionKind.VIEW, 30, b)], 14.0)
    assert later is not None and later.vector == pytest.approx(profile.vector, abs=1e-6)
    assert build_profile([], 14.0) is None
    assert profile.summary[0]["kind"] in {"BUY", "VIEW"} and profile.interactions == 2


def test_reasons_name_the_strongest_matching_history() -> None:
    """Same kind and city first, then same kind, then same city, then a generic line."""
    summary = [
        {"kind": "BUY", "property_type": "CONDO", "city": "Austin", "state": "TX", "count": 3},
        {"kind": "VIEW", "property_type": "LAND", "city": "Denver", "state": "CO", "count": 1},
        {"kind": "HOLD", "property_type": "SINGLE_FAMILY", "city": "Denver", "state": "CO", "count": 2},
    ]
    condo_austin = SimpleNamespace(property_type="CONDO", city="Austin", state="TX")
    condo_elsewhere = SimpleNamespace(property_type="CONDO", city="Nashville", state="TN")
    land_denver = SimpleNamespace(property_type="LAND", city="Denver", state="CO")
    townhouse_denver = SimpleNamespace(property_type="TOWNHOUSE", city="Denver", state="CO")
    other = SimpleNamespace(property_type="TOWNHOUSE", city="Boise", state="ID")
    assert recommendation_reason(condo_austin, summary) == "similar to 3 condos you bought in Austin"
    assert recommendation_reason(condo_elsewhere, summary) == "similar to 3 condos you bought"
    assert recommendation_reason(land_denver, summary) == "similar to a vacant land lot you viewed in Denver"
    assert recommendation_reason(townhouse_denver, summary) == "in Denver, where you held 2 leads"
    assert recommendation_reason(other, summary) == "close to the listings you looked at recently"
    assert similar_reason(condo_austin, land_denver, 0.25) == "75% similar to the vacant land in Denver, CO"


def test_embedded_text_is_the_public_headline() -> None:
    """Kind, place and the title as non-buyers read it: the seller's phone never reaches the model."""
    lead = SimpleNamespace(
        property_type="CONDO",
        city="Austin",
        state="TX",
        title="2 bed condo, call Pat at 512-555-0199",
        street="100 Congress Ave",
        contact_name="Pat Owner",
        contact_phone="+15125550199",
        contact_email="pat@example.com",
    )
    text = embedding_text(lead)
    assert text.startswith("condo in Austin, TX: 2 bed condo")
    assert "555" not in text and "0199" not in text and "Pat" not in text
    assert text_hash(text) == text_hash(text) and len(text_hash(text)) == 32
    assert text_hash(text) != text_hash(text + "!")
    assert (
        type_phrase("LAND", plural=True) == "vacant land lots"
        and type_phrase("CONDO", plural=True) == "condos"
    )


def test_interaction_entries_round_trip_and_bad_ones_are_dropped() -> None:
    """The buffer format decodes to the same interaction; malformed entries decode to None."""
    item = Interaction(uuid.uuid4(), uuid.uuid4(), InteractionKind.HOLD, 1_700_000_000.125)
    assert Interaction.decode(item.encode()) == item
    assert Interaction.decode(b"garbage") is None
    assert Interaction.decode(b"a|b|VIEW|1") is None
    assert user_of_actor(f"user:{item.user_id}") == item.user_id
    assert (
        user_of_actor("key:abc") is None
        and user_of_actor("ip:127.0.0.1") is None
        and user_of_actor(None) is None
    )


def test_embedder_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """AIQ_EMBEDDER picks local or openai; anything else is refused; openai needs a key in production."""
    monkeypatch.setenv("AIQ_ENV", "production")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("AIQ_EMBEDDER", "openai")
    monkeypatch.setenv("AIQ_RECOMMEND_MMR_LAMBDA", "3")
    settings = Settings.from_env()
    assert settings.embedder == "openai" and settings.recommend_mmr_lambda == 1.0
    assert "AIQ_EMBEDDER=openai needs OPENAI_API_KEY" in settings.unsafe_reasons()
    monkeypatch.setenv("AIQ_EMBEDDER", "word2vec")
    with pytest.raises(ValueError, match="AIQ_EMBEDDER"):
        Settings.from_env()
    monkeypatch.delenv("AIQ_EMBEDDER")
    assert Settings.from_env().embedder == "local"
