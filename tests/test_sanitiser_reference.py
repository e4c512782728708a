"""The sanitiser's markup stripping on lxml gives what it gave on BeautifulSoup (the reference kept
here): the same plain text for generated markup with dropped elements, blocks, comments, processing
instructions, entities and injection payloads."""

from __future__ import annotations

import warnings

import pytest
from aiqtest_support.markup_strategies import nested_markup
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from hypothesis import given, settings

from aiqleads.domain.cleaning import text as text_module
from aiqleads.domain.cleaning.text import to_plain_text

_DROP = ("script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "head")
_BLOCK = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "ul", "ol")


def _reference_strip(text: str) -> str:
    """The BeautifulSoup implementation _strip_markup had before lxml."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(text, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_BLOCK):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return soup.get_text()


_WORDS = [
    "",
    " ",
    "Call",
    " 512-555-0100 ",
    "&amp;lt;b&amp;gt;",
    "&lt;script&gt;x&lt;/script&gt;",
    "é",
    "\n",
    "javascript:alert(1)",
    "a < b",
    "x > y",
    "&#60;img src=x onerror=alert(1)&#62;",
    "\t",
]
_TAGS = [*_DROP, *_BLOCK, "b", "span", "a", "img", "td", "table", "title", "body"]
_LEAVES = [
    "<!-- c -->",
    "<?php echo 1 ?>",
    "<!DOCTYPE html>",
    "<br>",
    "</p>",
    '<img src="x" onerror="alert(1)">',
    '<a href="javascript:x">',
]


@settings(max_examples=400, deadline=None)
@given(nested_markup(_WORDS, _TAGS, _LEAVES))
def test_plain_text_is_the_beautifulsoup_reference(markup: str) -> None:
    ours = to_plain_text(markup)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_module, "_strip_markup", _reference_strip)
        theirs = to_plain_text(markup)
    assert ours == theirs
    assert ours is None or ("<" not in ours and ">" not in ours)
