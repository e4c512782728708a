"""The scraped-text sanitiser against markup hidden behind one or more levels of escaping: decoding
runs to a fixed point before markup is stripped, so no tag, angle bracket or script scheme survives
into a stored description, however the payload was escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from aiqleads.domain.cleaning.pipeline import clean_record
from aiqleads.domain.cleaning.text import single_line, to_plain_text
from aiqleads.domain.core.listings import RawRecord

PAYLOADS = [
    "<script>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "&amp;amp;lt;script&amp;amp;gt;alert(1)&amp;amp;lt;/script&amp;amp;gt;",
    "&#x26;lt;img src=x onerror=alert(1)&#x26;gt;",
    "&#38;lt;img src=x onerror=alert(1)&#38;gt;",
    "&#x26;#x3C;img src=x onerror=alert(1)&#x26;#x3E;",
    "&AMP;LT;ScRiPt&AMP;GT;alert(1)&AMP;LT;/sCrIpT&AMP;GT;",
    "&lt;SCRIPT SRC=//evil.example/x.js&gt;&lt;/SCRIPT&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#0000060;script&#0000062;alert(1)&#0000060;/script&#0000062;",
    "&ltscript&gtalert(1)&lt/script&gt",
    "＜script＞alert(1)＜/script＞",
    "&#xFF1C;script&#xFF1E;alert(1)&#xFF1C;/script&#xFF1E;",
    '<a href="javascript:alert(1)">alert</a>',
    "&lt;a href=&quot;JaVaScRiPt:alert(1)&quot;&gt;alert&lt;/a&gt;",
    "&amp;lt;a href=&amp;quot;javascript&amp;#58;alert(1)&amp;quot;&amp;gt;alert&amp;lt;/a&amp;gt;",
    "&lt;iframe src=javascript:alert(1)&gt;&lt;/iframe&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "&lt;&lt;script&gt;script&gt;alert(1)&lt;/script&gt;",
    "&lt;svg/onload=alert(1)&gt;",
    "&lt;img src=x onerror=&quot;alert(1)&quot;",  # unterminated tag
    "&lt;!--&gt;&lt;script&gt;alert(1)&lt;/script&gt;--&gt;",
]
SWALLOWING = {"&lt;svg/onload=alert(1)&gt;", "&lt;img src=x onerror=&quot;alert(1)&quot;"}
SCHEMES = ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "java\tscript:alert(1)", "java&#x09;script:alert(1)",
           "jav&#x0A;ascript:alert(1)", "java\x00script:alert(1)", "javajavascript:script:alert(1)",
           "vbscript:msgbox(1)", "&amp;#106;avascript:alert(1)"]  # fmt: skip


def _safe(text: str | None) -> None:
    assert text is not None
    assert "<" not in text and ">" not in text, text
    assert not re.search(r"(java|vb)\s*script\s*:", text, re.IGNORECASE), text
    assert "&lt;" not in text.lower() and "&gt;" not in text.lower(), text
    assert "onerror=" not in text.lower() and "onload=" not in text.lower(), text


@pytest.mark.parametrize("payload", PAYLOADS + SCHEMES)
def test_escaped_markup_never_survives_as_markup(payload: str) -> None:
    text = to_plain_text(f"Nice home. {payload} Call 512-555-0147.")
    _safe(text)
    assert text is not None and text.startswith("Nice home.")
    if payload not in SWALLOWING:  # an unclosed <svg> or tag takes the rest of the text with it
        assert text.endswith("Call 512-555-0147.")
    _safe(single_line(f"Title {payload}"))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_bodies_hidden_behind_escaping_are_dropped_with_their_tags(payload: str) -> None:
    if "script" in payload.lower() and not any(k in payload for k in ("href", "iframe", "<scr<")):
        text = to_plain_text(f"Before {payload} after")
        assert text is not None and "alert" not in text, text


def test_legitimate_text_keeps_its_meaning() -> None:
    assert (
        to_plain_text("Tom &amp; Jerry&#39;s 3 bed &lt; 2 miles from I-35")
        == "Tom & Jerry's 3 bed ‹ 2 miles from I-35"
    )
    assert to_plain_text("AT&T fiber, price > $300k, 2 < 3") == "AT&T fiber, price › $300k, 2 ‹ 3"
    assert to_plain_text("Data: 1,850 sqft") == "Data: 1,850 sqft"
    assert to_plain_text("&amp;" * 30 + "amp;lt;b") is not None  # deep nesting stays bounded


def test_pathological_nesting_is_bounded_and_still_safe() -> None:
    deep = "&amp;" * 50 + "lt;script&gt;alert(1)&lt;/script&gt;"
    _safe(to_plain_text(deep))
    _safe(to_plain_text("java" * 20 + "script:" * 20 + "x"))
    _safe(to_plain_text("<" * 10_000 + "script>" + ">" * 10_000))


@pytest.mark.parametrize("payload", PAYLOADS + SCHEMES)
def test_the_stored_description_and_title_of_a_cleaned_record_are_safe(payload: str) -> None:
    raw = RawRecord(
        source="CRAIGSLIST",
        external_id="7765432101",
        url="https://dallas.craigslist.org/dal/reo/d/x/7765432101.html",
        title=f"3br house {payload}",
        description=f"<p>Great home!</p>{payload} 1,850 sqft, 2 baths.",
        price="$350K",
        address="6234 velasco avenue, dallas tx",
        lat="32.8248",
        lng="-96.7498",
        contact_name=f"Ann {payload}",
    )
    clean = clean_record(raw, now=datetime(2025, 1, 15, tzinfo=UTC))
    for text in (clean.title, clean.description, clean.contact_name):
        _safe(text)
    assert clean.description is not None and clean.description.startswith("Great home!")
