"""Text analysis takes shortcuts (plain words remembered with their stem; a closer look only at
numbers and phrase starts, remembered per window of words; combining marks looked for outside ASCII
only): its tokens are those of the straightforward reading it replaced, kept here as the reference,
on cold and warm memos."""

from __future__ import annotations

import itertools
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from aiqleads.domain.search import text
from aiqleads.domain.search.text import (
    _BATH_WORDS,
    _BED_WORDS,
    _MAX_PHRASE,
    _PHRASE_STARTS,
    _PHRASES,
    _THOUSANDS,
    _TOKEN,
    STOPWORDS,
    _attached,
    _count_token,
    _number,
    stem,
)
from aiqleads_dev.seeding.generator import generate_leads


def _reference_fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    while True:
        joined = _THOUSANDS.sub(r"\1\2", folded)
        if joined == folded:
            return joined
        folded = joined


def reference_tokens(value: str | None) -> list[str]:
    """Every word stemmed, then read left to right (the implementation before the shortcuts)."""
    if not value:
        return []
    raw = [stem(t) for t in _TOKEN.findall(_reference_fold(value))]
    out: list[str] = []
    i = 0
    while i < len(raw):
        token = raw[i]
        number = _number(token)
        if number is not None and i + 1 < len(raw):
            unit = raw[i + 1]
            if unit in _BED_WORDS:
                out.append(_count_token(number, "br"))
                i += 2
                continue
            if unit in _BATH_WORDS:
                out.append(_count_token(number, "ba"))
                i += 2
                continue
        attached = _attached(token) if token[0].isdigit() else None
        if attached is not None:
            out.append(attached)
            i += 1
            continue
        if token not in _PHRASE_STARTS:
            if token not in STOPWORDS:
                out.append(token)
            i += 1
            continue
        for size in range(min(_MAX_PHRASE, len(raw) - i), 0, -1):
            replacement = _PHRASES.get(tuple(raw[i : i + size]))
            if replacement is not None:
                out.extend(replacement)
                i += size
                break
        else:
            if token not in STOPWORDS:
                out.append(token)
            i += 1
    return out


_PHRASE_WORDS = sorted({word for phrase in _PHRASES for word in phrase})
WORDS = st.sampled_from(
    [
        *_PHRASE_WORDS, *sorted(STOPWORDS), *sorted(_BED_WORDS), *sorted(_BATH_WORDS), "two", "Three", "ten",
        "2", "2.5", "1,200", "12,345,678", "3br", "2BA", "4beds", "1.5baths", "2022", "condominiums",
        "Houses", "cities", "bus", "texas", "lots", "José", "Núñez", "e\u0301", "\u2013", "ﬁne", "Ｃondo",
        "single-family", "sq.ft", "homes", "bedrooms", "baths", "sfhs", "x", "o", "s", "ies", "aies",
    ]
)  # fmt: skip
TEXTS = st.lists(st.tuples(WORDS, st.sampled_from([" ", ", ", "-", "/", "", ". ", "\n"])), max_size=14).map(
    lambda parts: "".join(w + s for w, s in parts)
)


@settings(max_examples=1500, deadline=None)
@given(value=TEXTS)
def test_tokens_are_the_references(value: str) -> None:
    assert text.tokens(value) == reference_tokens(value)
    assert text.tokens(value) == reference_tokens(value)  # the memos warm now


def test_tokens_of_generated_listings_are_the_references() -> None:
    for lead in itertools.islice(generate_leads(300, 11), 300):
        for value in (lead.title, lead.description):
            assert text.tokens(value) == reference_tokens(value), value


def test_cold_memos_give_the_same_tokens() -> None:
    value = "Two bedrooms, 2.5 baths single family home for sale by owner, 1,200 sq ft"
    warm = text.tokens(value)
    text._PLAIN.clear()
    text._STEMS.clear()
    text._CLOSER.clear()
    assert text.tokens(value) == warm == reference_tokens(value)
    assert warm[:3] == ["2br", "2p5ba", "sfh"]
