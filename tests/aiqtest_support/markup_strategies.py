"""Hypothesis strategies of nested HTML fragments, for the differential tests of lxml's reads
against BeautifulSoup's (tests/test_scrape_markup.py, tests/test_sanitiser_reference.py)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st


def nested_markup(
    words: Sequence[str], tags: Sequence[str], leaves: Sequence[str], attributes: Sequence[str] = ("",)
) -> st.SearchStrategy[str]:
    """Fragments up to four levels deep: words, leaves (comments, void tags, payloads) and
    elements of the given tags, each with one of the given attribute strings."""
    word, tag, leaf, attrs = (st.sampled_from(list(x)) for x in (words, tags, leaves, attributes))

    @st.composite
    def fragment(draw: st.DrawFn, depth: int = 0) -> str:
        parts = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.integers(0, 3 if depth < 3 else 1))
            if kind == 0:
                parts.append(draw(word))
            elif kind == 1:
                parts.append(draw(leaf))
            else:
                name = draw(tag)
                parts.append(f"<{name}{draw(attrs)}>{draw(fragment(depth + 1))}</{name}>")
        return "".join(parts)

    return fragment()
