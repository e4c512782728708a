"""A lead's contact patterns are compiled only for texts that could hold them: the pre-checks never
skip a pattern that would have matched (redaction is the same as applying every pattern)."""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from aiqleads.domain.core import visibility
from aiqleads.domain.core.visibility import _ASCII_FOLD, _contact_patterns, _redact, redact
from aiqleads.domain.search.text import tokens


@dataclass
class Contact:
    street: str | None
    contact_email: str | None
    contact_phone: str | None
    contact_name: str | None


def _unchecked(contact: Contact) -> tuple[visibility.KnownValue, ...]:
    """The same patterns with every pre-check off: applied to every text."""
    known = _contact_patterns(
        contact.street, contact.contact_email, contact.contact_phone, contact.contact_name
    )
    return tuple(dataclasses.replace(k, checked=False) for k in known)


def test_the_fold_covers_every_character_that_matches_an_ascii_letter() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(128, sys.maxunicode + 1):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        if letter.fullmatch(char):
            folded = char.translate(_ASCII_FOLD).lower()
            assert folded.isascii() and len(folded) == 1 and letter.fullmatch(folded), hex(code)


CONTACTS = [
    Contact("4521 Oak Hollow Dr", "maria.lopez@gmail.com", "+12145550143", "Maria Lopez"),
    Contact("88 Kings Road", "sis@example.org", "(512) 555-0199", "Isaac Kiss"),
    Contact("12 Rue José", None, "2145550143", "José Núñez"),
    Contact(None, None, None, None),
]

PIECES = st.sampled_from(
    [
        "Call", "214-555-0143", "(214) 555 0143", "555.0143", "2145550143", "MARIA", "maría", "Lopez",
        "lopez", "LOPEZ", "maria.lopez@gmail.com", "4521 Oak Hollow Dr", "OAK   HOLLOW", "oak\nhollow",
        "\u0130saac", "\u0131saac", "Ki\u017f\u017f", "\u212aings Road", "88 KINGS ROAD", "Jos\u00e9",
        "N\u00fa\u00f1ez", "sis@example.org", "SIS@EXAMPLE.ORG", "512 555 0199", "512-555-0199",
        "5 5 5 0 1 9 9", "roof", ",", " ",
        "\u00ad", "\uff15\uff15\uff15-0143", "O143", "www.example.com", "x",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    contact=st.sampled_from(CONTACTS),
    parts=st.lists(PIECES, max_size=12),
    separators=st.lists(st.sampled_from([" ", "", "-", "  ", ".", "\t"]), min_size=12, max_size=12),
    marker=st.sampled_from([visibility.REDACTED, " "]),
)
def test_prechecks_never_change_the_redaction(
    contact: Contact, parts: list[str], separators: list[str], marker: str
) -> None:
    text = "".join(p + s for p, s in zip(parts, separators, strict=False))
    assert redact(text, contact, marker) == _redact(text, _unchecked(contact), marker)


def test_a_text_without_the_contact_compiles_nothing() -> None:
    contact = Contact("9 Quiet Lane", "quiet@example.net", "+13035550111", "Quentin Tarn")
    known = _contact_patterns(
        contact.street, contact.contact_email, contact.contact_phone, contact.contact_name
    )
    visibility._compiled.cache_clear()
    assert (
        redact("Sunny 3 bed condo near the park, new roof", contact)
        == "Sunny 3 bed condo near the park, new roof"
    )
    assert visibility._compiled.cache_info().currsize == 0
    assert "Quentin" not in redact("Ask for QUENTIN at 303 555 0111", contact)
    assert 0 < visibility._compiled.cache_info().currsize < len(known)


def test_values_written_with_letters_that_fold_to_ascii_are_still_redacted() -> None:
    contact = Contact("88 Kings Road", "sis@example.org", None, "Isaac Kiss")
    for spelled in ("\u0131saac", "\u0130SAAC", "Ki\u017f\u017f", "\u212aiss"):
        text = f"Ask for {spelled} about the roof"
        assert redact(text, contact) == _redact(text, _unchecked(contact))
        assert redact(text, contact) != text, spelled


# --------------------------------------------------------------- the fixed patterns' pre-checks

FIXED_PIECES = st.sampled_from(
    [
        "mail", "me", "@", "(at)", "[AT]", "{at}", "[@]", " at ", "\tAT\n", "at", "cat", "maria.lopez",
        "gmail", ".", ". ", "(dot)", "[DOT]", "{dot}", "[.]", "(.)", " dot ", "dot", "com", "CO", "us",
        "realty", "io", "www.", "WWW", "http://", "HTTPS://", "/", "x", "-", "_", "__", ",", "(", ")",
        "+", "+1", "+44", "1", "12", "214", "555", "0143", "2145550143", "O", "o", "0", "\n", "  ",
        "\uff14", "\u0664\u0665\u0666", "\u00b2", "$", "Oak", "St", "street", "Ave.", "N", "88", "4521",
        "\u0130", "\u212a", "\u017f", "\u2013", "\uff20",
    ]
)  # fmt: skip
_SEPARATORS = st.text(alphabet=" -._()/+\n\t$,", max_size=4)
_DIGIT_GROUPS = st.sampled_from(
    ["1", "12", "214", "555", "0143", "5550143", "20", "7946", "\u0664\u0665\u0666"]
)
_PHONE_SHAPED = st.lists(st.one_of(_DIGIT_GROUPS, _SEPARATORS), min_size=2, max_size=8).map("".join)
_AT_FORMS = st.sampled_from(["@", "(at)", "[at]", "{AT}", "[@]", " at ", "\nat\t", "at", " (at) "])
_DOT_FORMS = st.sampled_from([".", "(dot)", "[dot]", "{dot}", "[.]", "(.)", " dot ", " DOT  ", "dot", ". "])
_WORDS = st.sampled_from(["maria", "lopez", "x", "gmail", "example", "a-b", "q_1", "w"])
_TLD = st.sampled_from(["com", "io", "realty", "CO", "us", "comx", "c"])
_ADDRESS_SHAPED = st.tuples(
    st.sampled_from(["", "http://", "https://", "www.", "WWW."]),
    _WORDS,
    st.lists(st.tuples(_DOT_FORMS, _WORDS), max_size=2),
    st.sampled_from(["", "", "x"]),
    _AT_FORMS,
    _WORDS,
    _DOT_FORMS,
    _TLD,
    st.sampled_from(["", "/a", " ", "x"]),
).map(lambda p: p[0] + p[1] + "".join(d + w for d, w in p[2]) + p[3] + p[4] + p[5] + p[6] + p[7] + p[8])
TEXTS = st.lists(st.one_of(FIXED_PIECES, _PHONE_SHAPED, _ADDRESS_SHAPED), max_size=10).map("".join)
FIXED = [
    ("e-mail", visibility._EMAIL, lambda t: visibility._EMAIL_NEEDS.search(t) is not None),
    ("URL", visibility._URL, visibility._may_hold_url),
    ("phone", visibility._PHONE, lambda t: visibility._PHONE_NEEDS.search(t) is not None),
]


@settings(max_examples=1500, deadline=None)
@given(text=TEXTS)
def test_a_text_a_fixed_pattern_matches_always_passes_its_precheck(text: str) -> None:
    text = visibility._normalised(text)
    for name, pattern, needs in FIXED:
        if pattern.search(text) is not None:
            assert needs(text), (name, text)


def _every_fixed_pattern(text: str, marker: str) -> str:
    """The redaction as it was before the pre-checks: every fixed pattern applied to every text."""
    text = visibility._normalised(text)
    text = visibility._URL.sub(marker, visibility._EMAIL.sub(marker, text))
    text = visibility._STREET.sub(marker, visibility._PHONE.sub(marker, text))
    if marker:
        text = visibility._doubled(marker).sub(marker, text)
    return visibility._SPACES.sub(" ", text)


@settings(max_examples=800, deadline=None)
@given(text=TEXTS, marker=st.sampled_from([visibility.REDACTED, " "]))
def test_the_prechecks_of_the_fixed_patterns_never_change_the_redaction(text: str, marker: str) -> None:
    assert visibility._redact_text(text, (), marker) == _every_fixed_pattern(text, marker)


@settings(max_examples=800, deadline=None)
@given(text=st.text(alphabet="Oo0123 .-\n\u0664x", max_size=30))
def test_o_for_zero_reads_as_it_did(text: str) -> None:
    before = re.compile(r"(?<=\d)[Oo]|[Oo](?=\d)")
    assert visibility._O_FOR_ZERO.sub("0", text) == before.sub("0", text)


def test_the_prechecks_pass_the_contacts_listings_really_carry() -> None:
    for text in (
        "Call 214-555-0143", "call (214) 555 0143 now", "text 555.0143", "+44 20 7946 0958", "2145550143",
        "maria.lopez@gmail.com", "maria dot lopez at gmail dot com", "maria(at)gmail(dot)com",
        "see www.example.com", "https://x.io/a", "example.realty", "example dot com", "(214) - 555 - 0143",
        "214 / 555 / 0143", "maria[at]gmail[dot]com", "maria{at}gmail{dot}io",
    ):  # fmt: skip
        assert any(needs(visibility._normalised(text)) for _name, _pattern, needs in FIXED), text
        assert visibility._redact_text(text, (), " ") == _every_fixed_pattern(text, " ")
        assert visibility._redact_text(text, (), " ") != text, text


@settings(max_examples=300, deadline=None)
@given(
    contact=st.sampled_from(CONTACTS),
    texts=st.lists(
        st.one_of(st.none(), TEXTS, st.lists(PIECES, max_size=8).map(" ".join)), min_size=1, max_size=3
    ),
)
def test_a_documents_words_are_those_of_index_text(contact: Contact, texts: list[str | None]) -> None:
    words = visibility.index_words(contact, *texts)
    assert [tokens(w) for w in words] == [tokens(visibility.index_text(t, contact)) for t in texts]
    # only the tidying is left out: the same text once tidied
    tidied = [visibility._SPACES.sub(" ", visibility._doubled(" ").sub(" ", w)) for w in words]
    assert tidied == [visibility.index_text(t, contact) for t in texts]


STREET_PIECES = st.sampled_from(
    ["12", "4521", "1234567", "x12", "_9", "9", "88b", "N", "ne.", "North", "Oak", "O'Neil", "st", "St.",
     "street", "Ave", "ave.", "dr", "drive", "Way", "a.", "ab.", "hollow", "\u0664\u0665", "\u00b2", " ",
     "  ", "\n", "\t", "-", ".", ",", "é", "İ", "K"]
)  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(text=st.lists(STREET_PIECES, max_size=14).map("".join))
def test_the_street_pattern_matches_as_written_before(text: str) -> None:
    before = re.compile(
        r"\b\d{1,6}+[a-z]?\s++(?:(?:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?\s++)?"
        r"(?:(?:[a-z]{1,3}\.|[a-z0-9][\w'\-]{0,30}+)\s++){0,4}"
        rf"(?:{visibility._STREET_SUFFIXES})\b\.?",
        re.IGNORECASE,
    )
    assert visibility._STREET.sub("#", text) == before.sub("#", text)


@settings(max_examples=1500, deadline=None)
@given(text=TEXTS)
def test_the_phone_precheck_finds_what_it_found_before(text: str) -> None:
    before = re.compile(r"\+|\d{3}[\W_]{0,4}\d{3}")
    assert (visibility._PHONE_NEEDS.search(text) is None) == (before.search(text) is None)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(TEXTS, st.text(max_size=40)))
def test_the_ascii_digits_of_a_text_are_those_the_pattern_leaves(text: str) -> None:
    assert visibility._ascii_digits(text) == visibility._NOT_ASCII_DIGIT.sub("", text)


# --------------------------------------------------------------- a lead's values, built when needed

_NAME_PARTS = st.sampled_from(
    [
        "Maria",
        "Lopez",
        "Al",
        "O'Neil",
        "(Bob)",
        "Jos\u00e9",
        "K\u212aiss",
        "Ann-Marie",
        "de",
        "Quentin,",
        "'Al'",
        "...",
        "Bo.",
        "(Eve)",
    ]
)
_STREETS = st.one_of(
    st.none(),
    st.just("  "),
    st.lists(STREET_PIECES, min_size=1, max_size=6).map(" ".join),
    st.sampled_from(["4521 Oak Hollow Dr", "88 Kings Road", "12 Rue Jos\u00e9", "9 Quiet Lane", "Elm St."]),
)
_EMAILS = st.one_of(
    st.none(),
    st.just(" "),
    st.sampled_from(["maria.lopez@gmail.com", "SIS@Example.org", "jos\u00e9@x.io", "a b@c.com", " x@y.io "]),
)
_PHONES = st.one_of(
    st.none(),
    st.sampled_from(
        ["+12145550143", "(512) 555-0199", "555-01", "\u0664\u0665\u0666\u0667\u0668\u0669\u0660"]
    ),
)
_CONTACTS = st.builds(
    Contact,
    street=_STREETS,
    contact_email=_EMAILS,
    contact_phone=_PHONES,
    contact_name=st.one_of(st.none(), st.lists(_NAME_PARTS, max_size=3).map(" ".join)),
)
_CONTACT_TEXTS = st.tuples(
    st.lists(
        st.one_of(PIECES, STREET_PIECES, _NAME_PARTS, st.sampled_from(["bob", "EVE", "Quentin", "x@y.io"])),
        max_size=12,
    ),
    st.sampled_from([" ", "", "-"]),
).map(lambda parts: parts[1].join(parts[0]))


@settings(max_examples=1500, deadline=None)
@given(contact=_CONTACTS, text=_CONTACT_TEXTS)
def test_a_text_the_screen_passes_over_holds_none_of_the_values(contact: Contact, text: str) -> None:
    key = (contact.street, contact.contact_email, contact.contact_phone, contact.contact_name)
    text = visibility._normalised(text)
    folded = text.translate(_ASCII_FOLD).lower()
    digits = visibility._ascii_digits(text)
    values = visibility._contact_values(*key)
    screened = visibility.ContactValues(*key, False).for_text(folded, digits)
    if not screened:
        assert not any(value.could_match(folded, digits) for value in values), (key, text)
    else:  # (values compare by identity: their fields here)
        assert [dataclasses.astuple(v) for v in screened] == [dataclasses.astuple(v) for v in values]


@settings(max_examples=800, deadline=None)
@given(contact=_CONTACTS, text=_CONTACT_TEXTS, marker=st.sampled_from([visibility.REDACTED, " "]))
def test_values_built_when_needed_redact_as_every_value_does(
    contact: Contact, text: str, marker: str
) -> None:
    key = (contact.street, contact.contact_email, contact.contact_phone, contact.contact_name)
    every = visibility._redact_text(text, visibility._contact_values(*key), marker)
    assert visibility._redact_text(text, visibility.ContactValues(*key, False), marker) == every
    assert redact(text, contact, marker) == every


def test_a_title_without_the_contact_builds_no_values() -> None:
    contact = Contact("9 Quiet Lane", "quiet@example.net", "+13035550111", "Quentin Tarn")
    values = visibility.ContactValues(
        contact.street, contact.contact_email, contact.contact_phone, contact.contact_name, False
    )
    assert visibility._redact_text("Sunny 3 bed condo near the park", values, visibility.REDACTED) == (
        "Sunny 3 bed condo near the park"
    )
    assert values._values is None
    assert "Quentin" not in visibility._redact_text("Ask QUENTIN", values, visibility.REDACTED)
    assert values._values is not None


def test_the_suffix_trie_is_the_alternation_of_the_suffixes() -> None:
    words = visibility._STREET_SUFFIXES.split("|")
    trie = re.compile(rf"(?:{visibility._word_trie(frozenset(words))})\b", re.IGNORECASE)
    plain = re.compile(rf"(?:{visibility._STREET_SUFFIXES})\b", re.IGNORECASE)
    probes = [*words, *(w + "s" for w in words), *(w[:-1] for w in words), "St.", "AVE", "\u017ft", "x"]
    for probe in probes:
        for text in (probe, f"{probe} ", f"{probe}.", f"a {probe}-b"):
            assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)], text
    for word in [*words, *(w + "x" for w in words), "", "ST"]:
        assert (word in visibility._STREET_SUFFIX_WORDS) == (
            re.fullmatch(visibility._STREET_SUFFIXES, word) is not None
        )
