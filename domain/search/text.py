"""Python-side text analysis for search: synonyms, bed/bath shorthands and light stemming.

The Elasticsearch build we run has no analysis-common module (no stemmers, no synonym filter), so
the index only tokenises with `standard` + `lowercase`. Everything language-specific happens here,
and the very same `normalize()` runs on documents at index time and on queries at search time, so
"condominiums", "condo" and "Condominium" all become the token `condo`, and "2 bed", "2br",
"two bedrooms" all become `2br`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_THOUSANDS = re.compile(r"(\d),(\d{3})(?!\d)")
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "near",
        "from",
        "by",
        "is",
        "are",
        "this",
        "that",
        "it",
        "its",
        "as",
        "be",
    ]
)

# Words the minimal stemmer must leave alone (would otherwise lose a final "s").
_STEM_EXCEPTIONS = frozenset(
    [
        "texas",
        "dallas",
        "kansas",
        "arkansas",
        "vegas",
        "las",
        "us",
        "bus",
        "gas",
        "plus",
        "this",
        "his",
        "has",
        "was",
        "is",
        "as",
        "its",
        "yes",
        "always",
        "perhaps",
        "lots",
        "sfhs",
    ]
)

_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
_BED_WORDS = frozenset({"bed", "bedroom", "br", "bd", "bdrm", "bdr", "bdrms", "brs"})
_BATH_WORDS = frozenset({"bath", "bathroom", "ba", "bth", "bathrm"})
_ATTACHED = re.compile(
    r"^(\d+(?:\.\d+)?)(br|brs|bd|bds|bdr|bdrm|bdrms|bed|beds|bedroom|bedrooms|ba|bth|bath|baths|bathroom|bathrooms)$"
)

# Multi-word and single-word synonyms, matched on stemmed tokens, mapped to one canonical token.
_PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("single", "family"): ("sfh",),
    ("singlefamily",): ("sfh",),
    ("sfh",): ("sfh",),
    ("sfr",): ("sfh",),
    ("condominium",): ("condo",),
    ("condo",): ("condo",),
    ("town", "house"): ("townhouse",),
    ("town", "home"): ("townhouse",),
    ("townhome",): ("townhouse",),
    ("rowhouse",): ("townhouse",),
    ("row", "house"): ("townhouse",),
    ("multi", "family"): ("multifamily",),
    ("multifamily",): ("multifamily",),
    ("multiplex",): ("multifamily",),
    ("duplex",): ("duplex", "multifamily"),
    ("triplex",): ("triplex", "multifamily"),
    ("fourplex",): ("fourplex", "multifamily"),
    ("quadplex",): ("fourplex", "multifamily"),
    ("mobile", "home"): ("manufactured",),
    ("manufactured", "home"): ("manufactured",),
    ("manufactured",): ("manufactured",),
    ("vacant", "land"): ("land",),
    ("acreage",): ("land",),
    ("for", "sale", "by", "owner"): ("fsbo",),
    ("by", "owner"): ("fsbo",),
    ("sq", "ft"): ("sqft",),
    ("square", "foot"): ("sqft",),
    ("square", "feet"): ("sqft",),
}
_MAX_PHRASE = max(len(k) for k in _PHRASES)
_PHRASE_STARTS = frozenset(k[0] for k in _PHRASES)

# Index-side only: spelled-out forms of canonical tokens, so a misspelt long form in a query
# ("condominum") still fuzzy-matches something in the document ("condominium").
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "condo": ("condominium",),
    "sfh": ("singlefamily", "house", "home"),
    "townhouse": ("townhome",),
    "multifamily": ("multiplex",),
    "manufactured": ("mobile",),
    "fsbo": ("owner",),
}

# The searchable words of each property type (normalised, then expanded).
PROPERTY_TYPE_WORDS: dict[str, str] = {
    "SINGLE_FAMILY": "single family house",
    "CONDO": "condo apartment",
    "TOWNHOUSE": "townhouse",
    "MULTI_FAMILY": "multi family duplex",
    "LAND": "land lot",
    "MANUFACTURED": "manufactured home",
    "OTHER": "other",
}

_STRUCTURED = re.compile(r"^\d+(?:p\d+)?(?:br|ba)$")


def stem(word: str) -> str:
    """A minimal English plural stemmer (Lucene's EnglishMinimalStem rules)."""
    n = len(word)
    if n < 3 or word[-1] != "s" or word in _STEM_EXCEPTIONS or word[0].isdigit():
        return word
    before = word[-2]
    if before in "us":
        return word
    if before == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def _without_combining(match: re.Match[str]) -> str:
    # only characters outside ASCII can be combining marks: the rest of the text is not looked at
    char = match.group()
    return "" if unicodedata.combining(char) else char


def _fold(text: str) -> str:
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = _NOT_ASCII.sub(_without_combining, decomposed).lower()
    # a thousands separator needs a digit on each side: a text without one is not scanned again
    while _DIGIT_COMMA_DIGIT.search(folded) is not None:
        joined = _THOUSANDS.sub(r"\1\2", folded)
        if joined == folded:
            return joined
        folded = joined
    return folded


_NUMERIC = re.compile(r"\d+(?:\.\d+)?")


def _number(token: str) -> str | None:
    if token[0].isdigit():
        return token if _NUMERIC.fullmatch(token) else None
    return _NUMBER_WORDS.get(token)


def _count_token(number: str, unit: str) -> str:
    value = float(number)
    text = str(int(value)) if value == int(value) else f"{value:g}".replace(".", "p")
    return f"{text}{unit}"


def _attached(token: str) -> str | None:
    match = _ATTACHED.match(token)
    if match is None:
        return None
    unit = stem(match.group(2))
    return _count_token(match.group(1), "ba" if unit in _BATH_WORDS or unit.startswith("ba") else "br")


# What a plain word (raw, before stemming) becomes: its stem, or "" for a stopword. A plain word is
# one whose stem is no number, starts no phrase and has no digit, so it is never looked at beyond
# itself (it may still be a unit after a number, or inside a phrase: those read the stems).
# Listing text reuses few words; the memo is bounded.
_PLAIN: dict[str, str] = {}
_STEMS: dict[str, str] = {}
# The reading of each window of words a closer look met (see _look_closer): (tokens, words taken).
_CLOSER: dict[tuple[str, ...], tuple[tuple[str, ...], int]] = {}
_MAX_MEMO = 100_000
# Stemmed tokens the loop below must look at more closely: number words and phrase starts (and
# any token starting with a digit).
_CLOSER_LOOK = frozenset(_NUMBER_WORDS) | _PHRASE_STARTS


def _stemmed(word: str) -> str:
    stemmed = _STEMS.get(word)
    if stemmed is None:
        stemmed = stem(word)
        if len(_STEMS) < _MAX_MEMO:
            _STEMS[word] = stemmed
            if stemmed not in _CLOSER_LOOK and not stemmed[0].isdigit():
                _PLAIN[word] = "" if stemmed in STOPWORDS else stemmed
    return stemmed


def tokens(text: str | None) -> list[str]:
    """Normalised tokens of a text: folded, stemmed, synonyms canonicalised, stopwords dropped."""
    if not text:
        return []
    words = _TOKEN.findall(_fold(text))
    plain = [_PLAIN.get(word) for word in words]
    out: list[str] = []
    i = 0
    for closer in [k for k, known in enumerate(plain) if known is None]:
        if closer < i:  # taken with the word before it (a unit after a number, a phrase)
            continue
        out.extend([token for token in plain[i:closer] if token])
        i = _look_closer(words, closer, out)
    out.extend([token for token in plain[i:] if token])
    return out


def _look_closer(words: list[str], i: int, out: list[str]) -> int:
    """Append the token(s) the word at ``i`` starts (a number and its unit, a phrase, any word met
    for the first time); the index of the next word."""
    first = _stemmed(words[i])
    # what the reading depends on: a number, its unit; a phrase start, the longest phrase after it
    reach = (
        _MAX_PHRASE if first in _PHRASE_STARTS else 2 if first[0].isdigit() or first in _NUMBER_WORDS else 1
    )
    window = tuple(words[i : i + reach])
    reading = _CLOSER.get(window)
    if reading is None:
        reading = _read_closer(window)
        if len(_CLOSER) < _MAX_MEMO:
            _CLOSER[window] = reading
    out.extend(reading[0])
    return i + reading[1]


def _read_closer(window: tuple[str, ...]) -> tuple[tuple[str, ...], int]:
    token = _stemmed(window[0])
    # "2 bed", "two bedrooms", "2.5 baths"
    number = _number(token)
    if number is not None and len(window) > 1:
        unit = _stemmed(window[1])
        if unit in _BED_WORDS:
            return (_count_token(number, "br"),), 2
        if unit in _BATH_WORDS:
            return (_count_token(number, "ba"),), 2
    attached = _attached(token) if token[0].isdigit() else None
    if attached is not None:
        return (attached,), 1
    if token in _PHRASE_STARTS:
        stems = [_stemmed(word) for word in window]
        for size in range(len(stems), 0, -1):
            replacement = _PHRASES.get(tuple(stems[:size]))
            if replacement is not None:
                return replacement, size
    return ((token,) if token not in STOPWORDS else ()), 1


def normalize(text: str | None) -> str:
    """The normalised text (space-separated tokens) to index or to query."""
    return " ".join(tokens(text))


def expansions(normalised_tokens: Iterable[str]) -> list[str]:
    """Spelled-out variants of the canonical tokens present (index side only)."""
    seen: list[str] = []
    for token in [t for t in normalised_tokens if t in EXPANSIONS]:
        for variant in EXPANSIONS[token]:
            if variant not in seen:
                seen.append(variant)
    return seen


def is_structured(token: str) -> bool:
    """Whether a normalised token is an exact-only shorthand such as 2br or 2p5ba (never fuzzed)."""
    return bool(_STRUCTURED.match(token)) or token.replace(".", "", 1).isdigit()


def count_tokens(bedrooms: int | None, bathrooms: float | None) -> list[str]:
    """The bed/bath shorthand tokens describing a listing's structured data."""
    out: list[str] = []
    if bedrooms is not None:
        out.append(_count_token(str(bedrooms), "br"))
    if bathrooms is not None:
        out.append(_count_token(str(bathrooms), "ba"))
    return out
