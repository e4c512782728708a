"""The lxml reads the parsers make (workers/scrapers/markup.py) give what BeautifulSoup gave on the
same markup: visible text, CSS selection, inner markup as the cleaner reads it, script contents."""

from __future__ import annotations

import functools

from aiqtest_support.markup_strategies import nested_markup
from bs4 import BeautifulSoup
from hypothesis import given, settings

from aiqleads.domain.cleaning.text import to_plain_text
from aiqleads.workers.scrapers.markup import (
    inner_html,
    parse_html,
    remove,
    script_text,
    script_with,
    select,
    select_one,
    text_of,
)

_WORDS = ["", " ", "a", "Call me", " 555-0100 ", "&amp;", "&lt;b&gt;", "é", "\n", "\t x "]
_TAGS = ["b", "span", "p", "div", "li", "script", "style", "br", "i", "template"]
_LEAVES = [f"<!--{w}-->" for w in _WORDS]
_markup = functools.partial(
    nested_markup, _WORDS, _TAGS, _LEAVES, ["", ' class="x"', ' class="x y"', ' class="junk"']
)


@settings(max_examples=300, deadline=None)
@given(_markup())
def test_visible_text_is_beautifulsoups(inner: str) -> None:
    page = f"<html><body><div id='t'>{inner}</div><p>after</p></body></html>"
    ours = select_one(parse_html(page), "#t")
    theirs = BeautifulSoup(page, "lxml").select_one("#t")
    assert ours is not None and theirs is not None
    assert text_of(ours) == theirs.get_text(" ", strip=True)
    assert text_of(ours, "") == theirs.get_text(strip=True)
    assert [text_of(e) for e in select(ours, ".x")] == [
        e.get_text(" ", strip=True) for e in theirs.select(".x")
    ]


@settings(max_examples=300, deadline=None)
@given(_markup())
def test_inner_markup_reads_the_same_to_the_cleaner(inner: str) -> None:
    page = f"<html><body><div id='t'>{inner}</div></body></html>"
    ours = select_one(parse_html(page), "#t")
    theirs = BeautifulSoup(page, "lxml").select_one("#t")
    assert ours is not None and theirs is not None
    for junk in select(ours, ".junk"):
        remove(junk)
    for tag in theirs.select(".junk"):
        tag.decompose()
    assert to_plain_text(inner_html(ours)) == to_plain_text(theirs.decode_contents())


def test_scripts_and_odd_documents() -> None:
    page = '<script id="d" type="application/json"><!-- {"a": "<b>&amp;"} --></script><script>x</script>'
    tag = script_with(parse_html(page), "id", "d")
    assert tag is not None and script_text(tag) == '<!-- {"a": "<b>&amp;"} -->'
    assert script_with(parse_html(page), "id", "nope") is None
    for odd in ("", "   ", "\x00", '<?xml version="1.0" encoding="utf-8"?><p>x</p>', "plain words"):
        root = parse_html(odd)  # never raises: an empty or odd page is a document with little in it
        assert select_one(root, "#anything") is None
    assert text_of(parse_html('<?xml version="1.0" encoding="utf-8"?><p>x</p>')) == "x"


def test_deeply_nested_pages_are_read_without_recursion() -> None:
    # libxml2 keeps about 2,000 levels: deeper than Python's recursion limit, so the reads walk
    # the tree with a stack of their own
    page = '<div id="t">' + "<div>x" * 5000 + "</div>" * 5000 + "</div>"
    text = text_of(select_one(parse_html(page), "#t"))  # type: ignore[arg-type]
    assert text.startswith("x x x") and len(text.split()) >= 2000
    assert (to_plain_text(page) or "").count("x") >= 2000
