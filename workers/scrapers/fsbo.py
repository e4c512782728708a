"""FSBO (for-sale-by-owner site): listing cards on the search page and the listing page itself, read
from schema.org microdata (itemprop) and the labelled property-details table."""

from __future__ import annotations

import re
from urllib.parse import quote

from bs4 import BeautifulSoup, Tag

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


def _text(el: Tag | None) -> str | None:
    if el is None:
        return None
    content = el.get("content")
    if isinstance(content, str) and content.strip():
        return content.strip()
    return text_or_none(el.get_text(" ", strip=True))


def _prop(root: Tag, name: str) -> Tag | None:
    found = root.find(None, attrs={"itemprop": name})
    return found if isinstance(found, Tag) else None


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
        soup = BeautifulSoup(text, "lxml")
        cards = soup.select(".listing-item")
        if not cards and soup.select_one(".listings-results") is None:
            raise PageParseError("FSBO page has no .listings-results container")
        page = SearchPage()
        for card in cards:
            try:
                page.listings.append(self._card(card, url))
            except PageParseError as exc:
                ident = card.get("data-listing-id")
                page.failures.append(
                    ListingFailure(
                        str(exc), fragment_of(str(card)), ident if isinstance(ident, str) else None
                    )
                )
        nxt = soup.select_one("a[rel=next], .pagination a.next")
        page.next_url = absolute(url, nxt.get("href")) if isinstance(nxt, Tag) else None
        return page

    def _card(self, card: Tag, page_url: str) -> ParsedListing:
        link = card.select_one("a.listing-link") or card.find("a")
        href = absolute(page_url, link.get("href")) if isinstance(link, Tag) else None
        ident = card.get("data-listing-id")
        if not isinstance(ident, str) or not ident.strip():
            match = _ID_IN_URL.search(href or "")
            ident = match.group(1) if match else None
        if not ident or not href:
            raise PageParseError("listing card has no id or link")
        facts = " ".join(li.get_text(" ", strip=True) for li in card.select(".listing-facts li"))
        photo = card.select_one("img.listing-photo")
        photo_src = photo.get("src") if photo is not None else None
        record = RawRecord(
            source=self.source,
            external_id=ident.strip(),
            url=href,
            title=_text(card.select_one(".listing-title")),
            price=_text(card.select_one(".listing-price")),
            street=_text(card.select_one(".listing-address .street")),
            city=_text(card.select_one(".listing-address .city")),
            state=_text(card.select_one(".listing-address .state")),
            zip=_text(card.select_one(".listing-address .zip")),
            bedrooms=facts or None,
            bathrooms=facts or None,
            sqft=facts or None,
            photos=[photo_src] if isinstance(photo_src, str) else [],
        )
        return ParsedListing(record, fragment_of(str(card)), needs_detail=True)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Every field of the listing page (microdata first, then the details table)."""
        soup = BeautifulSoup(text, "lxml")
        root = soup.select_one(".listing-detail") or soup.find(None, attrs={"itemscope": True})
        if not isinstance(root, Tag):
            raise PageParseError("FSBO listing page has no .listing-detail block")
        table: dict[str, str] = {}
        for row in root.select(".property-details tr"):
            head, cell = row.find("th"), row.find("td")
            if isinstance(head, Tag) and isinstance(cell, Tag):
                key = _DETAIL_LABELS.get(head.get_text(" ", strip=True).lower().rstrip(":"))
                if key:
                    table[key] = cell.get_text(" ", strip=True)
        phone_el = root.select_one(".seller-phone")
        email_el = root.select_one(".seller-email")
        phone = _text(phone_el)
        if isinstance(phone_el, Tag) and str(phone_el.get("href", "")).startswith("tel:"):
            phone = str(phone_el["href"])[4:]
        email = _text(email_el)
        if isinstance(email_el, Tag) and str(email_el.get("href", "")).startswith("mailto:"):
            email = str(email_el["href"])[7:]
        description = _prop(root, "description") or root.select_one(".description")
        photos = [img.get("src") for img in root.select(".gallery img")]
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            title=_text(_prop(root, "name") or root.select_one(".listing-title")),
            description=description.decode_contents() if isinstance(description, Tag) else None,
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
            contact_name=_text(root.select_one(".seller-name")),
            contact_phone=phone,
            contact_email=email,
        )
        return detail.merged(stub)
