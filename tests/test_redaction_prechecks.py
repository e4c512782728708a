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
