"""FSBO (for-sale-by-owner site): listing cards on the search page and the listing page itself, read
from schema.org microdata (itemprop) and the labelled property-details table."""

from __future__ import annotations

import re
from urllib.parse import quote

from aiqleads.domain.core.listings import RawRecord
from aiqleads.workers.scrapers.base import (
    ListingFailure,
    PageParseError,
    ParsedListing,
    SearchPage,
    absolute,
    fragment_of,
    text_or_none,
)
from aiqleads.workers.scrapers.markup import (
    Element,
    first_with,
    inner_html,
    outer_html,
    parse_html,
    select,
    select_one,
    text_of,
)
from aiqleads.workers.scrapers.regions import Region

_ID_IN_URL = re.compile(r"/id/(\d+)")
_DETAIL_LABELS = {
    "property type": "property_type",
    "type": "property_type",
    "bedrooms": "bedrooms",
    "beds": "bedrooms",
    "bathrooms": "bathrooms",
    "baths": "bathrooms",
    "square feet": "sqft",
    "sq ft": "sqft",
    "living area": "sqft",
    "year built": "year_built",
    "listed": "posted_at",
    "date listed": "posted_at",
    "asking price": "price",
    "price": "price",
}


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    content = el.get("content")
    if content is not None and content.strip():
        return content.strip()
    return text_or_none(text_of(el))


def _prop(root: Element, name: str) -> Element | None:
    return first_with(root, "itemprop", name)


class FsboParser:
    """Parser for FSBO search-result cards and listing pages."""

    source = "FSBO"
    name = "fsbo"
    default_base_url = "https://fsbo.com"
    hosts: tuple[str, ...] = ("fsbo.com", "www.fsbo.com")

    def search_url(self, base_url: str, region: Region, page: int) -> str:
        """/listings/search/results/TX/Dallas/?page=N."""
        root = f"{base_url.rstrip('/')}/listings/search/results/{quote(region.fsbo)}/"
        return root if page <= 1 else f"{root}?page={page}"

    def parse_search(self, text: str, url: str, region: Region) -> SearchPage:
        """One stub per listing card; the listing page has the rest."""
        soup = parse_html(text)
        cards = select(soup, ".listing-item")
        if not cards and select_one(soup, ".listings-results") is None:
            raise PageParseError("FSBO page has no .listings-results container")
        page = SearchPage()
        for card in cards:
            try:
                page.listings.append(self._card(card, url))
            except PageParseError as exc:
                ident = card.get("data-listing-id")
                page.failures.append(ListingFailure(str(exc), fragment_of(outer_html(card)), ident))
        nxt = select_one(soup, "a[rel~=next], .pagination a.next")
        page.next_url = absolute(url, nxt.get("href")) if nxt is not None else None
        return page

    def _card(self, card: Element, page_url: str) -> ParsedListing:
        link = select_one(card, "a.listing-link")
        if link is None:
            link = select_one(card, "a")
        href = absolute(page_url, link.get("href")) if link is not None else None
        ident = card.get("data-listing-id")
        if ident is None or not ident.strip():
            match = _ID_IN_URL.search(href or "")
            ident = match.group(1) if match else None
        if not ident or not href:
            raise PageParseError("listing card has no id or link")
        facts = " ".join(text_of(li) for li in select(card, ".listing-facts li"))
        photo = select_one(card, "img.listing-photo")
        photo_src = photo.get("src") if photo is not None else None
        record = RawRecord(
            source=self.source,
            external_id=ident.strip(),
            url=href,
            title=_text(select_one(card, ".listing-title")),
            price=_text(select_one(card, ".listing-price")),
            street=_text(select_one(card, ".listing-address .street")),
            city=_text(select_one(card, ".listing-address .city")),
            state=_text(select_one(card, ".listing-address .state")),
            zip=_text(select_one(card, ".listing-address .zip")),
            bedrooms=facts or None,
            bathrooms=facts or None,
            sqft=facts or None,
            photos=[photo_src] if photo_src is not None else [],
        )
        return ParsedListing(record, fragment_of(outer_html(card)), needs_detail=True)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Every field of the listing page (microdata first, then the details table)."""
        soup = parse_html(text)
        root = select_one(soup, ".listing-detail")
        if root is None:
            root = first_with(soup, "itemscope")
        if root is None:
            raise PageParseError("FSBO listing page has no .listing-detail block")
        table: dict[str, str] = {}
        for row in select(root, ".property-details tr"):
            head, cell = select_one(row, "th"), select_one(row, "td")
            if head is not None and cell is not None:
                key = _DETAIL_LABELS.get(text_of(head).lower().rstrip(":"))
                if key:
                    table[key] = text_of(cell)
        phone_el = select_one(root, ".seller-phone")
        email_el = select_one(root, ".seller-email")
        phone = _text(phone_el)
        if phone_el is not None and (phone_el.get("href") or "").startswith("tel:"):
            phone = (phone_el.get("href") or "")[4:]
        email = _text(email_el)
        if email_el is not None and (email_el.get("href") or "").startswith("mailto:"):
            email = (email_el.get("href") or "")[7:]
        description = _prop(root, "description")
        if description is None:
            description = select_one(root, ".description")
        photos = [img.get("src") for img in select(root, ".gallery img")]
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            title=_text(_title(root)),
            description=inner_html(description) if description is not None else None,
            price=_text(_prop(root, "price")) or table.get("price"),
            street=_text(_prop(root, "streetAddress")),
            city=_text(_prop(root, "addressLocality")),
            state=_text(_prop(root, "addressRegion")),
            zip=_text(_prop(root, "postalCode")),
            lat=_text(_prop(root, "latitude")),
            lng=_text(_prop(root, "longitude")),
            bedrooms=table.get("bedrooms"),
            bathrooms=table.get("bathrooms"),
            sqft=table.get("sqft"),
            year_built=table.get("year_built"),
            property_type=table.get("property_type"),
            posted_at=table.get("posted_at"),
            photos=[p for p in photos if isinstance(p, str)],
            contact_name=_text(select_one(root, ".seller-name")),
            contact_phone=phone,
            contact_email=email,
        )
        return detail.merged(stub)


def _title(root: Element) -> Element | None:
    found = _prop(root, "name")
    return found if found is not None else select_one(root, ".listing-title")
