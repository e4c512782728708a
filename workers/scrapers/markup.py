"""HTML pages as lxml trees, and the few reads the parsers make of them: CSS selection, an
element's text as a reader sees it, its markup, and the contents of a script.

lxml builds a page's tree in C: 20 to 40 times faster than BeautifulSoup's Python tree on the
sources' pages (bench/README.md, ingestion), which was the largest part of parsing."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from lxml import etree, html
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement as Element

from aiqleads.domain.cleaning.html_tree import parse_document, visible_strings

# text inside these is not text a reader sees (BeautifulSoup's get_text leaves it out too)
_INVISIBLE = frozenset({"script", "style", "template"})


def parse_html(text: str) -> Element:
    """The document element of a page; a page with no markup at all is an empty document."""
    root = parse_document(text)
    return html.Element("html") if root is None else root


@lru_cache(maxsize=256)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css, translator="html")


def _in_document(element: Element) -> bool:
    # a <template>'s contents are inert, not part of the page (as in browsers and soupsieve)
    return next(element.iterancestors("template"), None) is None


def select(root: Element, css: str) -> list[Element]:
    """Every element under root (and root itself) that the CSS selector matches, in document order."""
    return [e for e in _selector(css)(root) if _in_document(e)]


def select_one(root: Element, css: str) -> Element | None:
    """The first element the CSS selector matches, or None."""
    return next((e for e in _selector(css)(root) if _in_document(e)), None)


def first_with(root: Element, attribute: str, value: str | None = None) -> Element | None:
    """The first descendant of root with this attribute (equal to value, when one is given)."""
    for element in root.iterdescendants():
        if not isinstance(element.tag, str):
            continue
        found = element.get(attribute)
        if found is not None and (value is None or found == value):
            return element
    return None


def script_with(root: Element, attribute: str, value: str) -> Element | None:
    """The first script element whose attribute equals value."""
    return next((e for e in root.iter("script") if e.get(attribute) == value), None)


def scripts_with(root: Element, attribute: str, value: str) -> list[Element]:
    """Every script element whose attribute equals value, in document order."""
    return [e for e in root.iter("script") if e.get(attribute) == value]


def text_of(element: Element, separator: str = " ") -> str:
    """The visible text under an element: each string stripped, empty ones dropped, joined by
    separator (comments, and scripts and styles inside it, are not text; a script's own is)."""
    # BeautifulSoup's rule: what is hidden depends on the element asked (a template's own text
    # is text, the scripts inside it are not)
    hidden = _INVISIBLE - {element.tag} if element.tag in _INVISIBLE else _INVISIBLE
    strings = visible_strings(element, hidden)
    return separator.join(part for part in (s.strip() for s in strings) if part)


def script_text(element: Element) -> str:
    """The raw contents of a script (or any element): its text, unparsed."""
    return "".join(element.itertext())


def inner_html(element: Element) -> str:
    """The markup inside an element, without the element's own tag."""
    for inside in element.iterdescendants():
        # libxml2 writes an empty <li> without its end tag, so the text after it would read back
        # as the item's; an empty text node makes it write the end tag
        if isinstance(inside.tag, str) and not inside.text and len(inside) == 0:
            inside.text = ""
    head = escape(element.text, quote=False) if element.text else ""
    return head + "".join(etree.tostring(child, encoding="unicode", method="html") for child in element)


def outer_html(element: Element) -> str:
    """The element's own markup (without the text that follows it)."""
    return etree.tostring(element, encoding="unicode", method="html", with_tail=False)


def remove(element: Element) -> None:
    """Take an element and its contents out of the tree; the text after it stays."""
    element.drop_tree()
