"""HTML as libxml2's tree (through lxml): the parse every reader of scraped markup uses, and the
walk over the strings of a tree that a reader sees.

The scrapers' page reads (``workers/scrapers/markup.py``) and the sanitiser
(``domain/cleaning/text.py``) share both, so a hostile page meets the same parser limits and the
same walk everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree
from lxml import html as lxml_html


def _parser() -> lxml_html.HTMLParser:
    # one per parse (3 µs): an lxml parser must not be shared between threads; huge_tree lifts
    # libxml2's 10 MB limit on a text node (the fetcher and the cleaner bound the sizes)
    return lxml_html.HTMLParser(huge_tree=True)


def parse_document(text: str) -> Any | None:
    """The document element of some markup, or None when it holds no element at all."""
    try:
        return lxml_html.document_fromstring(text, parser=_parser())
    except ValueError:  # a str carrying an XML encoding declaration: lxml wants its bytes
        try:
            return lxml_html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=_parser())
        except (ValueError, etree.ParserError):
            return None
    except etree.ParserError:  # "Document is empty"
        return None


def visible_strings(root: Any, hidden: frozenset[str], blocks: frozenset[str] = frozenset()) -> Iterator[str]:
    """The text of root and everything under it in document order, without comments, processing
    instructions and the elements named in ``hidden`` (whose following text stays, as it is their
    parent's); a line break before and after each element named in ``blocks``."""
    # iterative: libxml2 nests up to ~2,000 levels, deeper than Python's recursion limit
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        skipped = not finished and node is not root and (not isinstance(node.tag, str) or node.tag in hidden)
        if finished or skipped:
            if finished and node.tag in blocks:
                yield "\n"
            if node is not root and node.tail:
                yield node.tail
            continue
        if node.tag in blocks:
            yield "\n"
        if node.text:
            yield node.text
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
