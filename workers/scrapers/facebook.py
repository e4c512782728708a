"""Facebook Marketplace: listings embedded in the page as Relay payloads inside
``<script type="application/json" data-sjs>`` tags (``RelayPrefetchedStreamCache`` → ``__bbox`` →
``result.data``). The parser finds listing objects by their fields wherever the nesting puts them,
so a reshuffled wrapper does not break it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiqleads.domain.core.listings import RawRecord
from aiqleads.workers.scrapers.base import (
    ListingFailure,
    PageParseError,
    ParsedListing,
    SearchPage,
    absolute,
    dig,
    fragment_of,
    load_json_text,
    text_or_none,
    walk,
)
from aiqleads.workers.scrapers.markup import parse_html, script_text, scripts_with
from aiqleads.workers.scrapers.regions import Region


def relay_payloads(text: str) -> list[Any]:
    """Every JSON document in the page's application/json script tags."""
    payloads: list[Any] = []
    for tag in scripts_with(parse_html(text), "type", "application/json"):
        body = script_text(tag)
        if "__bbox" not in body and "marketplace" not in body:
            continue
        try:
            payloads.append(load_json_text(body))
        except ValueError:
            continue  # one broken script tag does not hide the others
    return payloads


def item_url(page_url: str, ident: str) -> str:
    """The item page of a listing, on the same site (and path prefix) as the search page."""
    root = page_url.split("/marketplace/", 1)[0] if "/marketplace/" in page_url else page_url.rstrip("/")
    return f"{root}/marketplace/item/{ident}/"


class FacebookParser:
    """Parser for Marketplace property-for-sale search pages and item pages."""

    source = "FACEBOOK"
    name = "facebook"
    default_base_url = "https://www.facebook.com"
    hosts: tuple[str, ...] = ("facebook.com", "www.facebook.com", "m.facebook.com")

    def search_url(self, base_url: str, region: Region, page: int) -> str:
        """/marketplace/dallas/propertyforsale/ (later pages follow the Relay cursor)."""
        return f"{base_url.rstrip('/')}/marketplace/{quote(region.facebook)}/propertyforsale/"

    def parse_search(self, text: str, url: str, region: Region) -> SearchPage:
        """Listing nodes of the marketplace feed, and the next cursor's page."""
        payloads = relay_payloads(text)
        if not payloads:
            raise PageParseError("no Relay JSON (script type=application/json) on the Marketplace page")
        page = SearchPage()
        feed_seen = False
        seen_ids: set[str] = set()
        for payload in payloads:
            for obj in walk(payload):
                if "feed_units" in obj and isinstance(obj["feed_units"], dict):
                    feed_seen = True
                    info = obj["feed_units"].get("page_info") or {}
                    cursor = text_or_none(info.get("end_cursor"))
                    if info.get("has_next_page") and cursor:
                        page.next_url = absolute(url, "?" + urlencode({"cursor": cursor}))
                if "marketplace_listing_title" not in obj:
                    continue
                ident = text_or_none(obj.get("id"))
                if ident in seen_ids:
                    continue
                try:
                    listing = self._listing(obj, url)
                except PageParseError as exc:
                    page.failures.append(ListingFailure(str(exc), fragment_of(obj), ident))
                    continue
                seen_ids.add(listing.record.external_id)
                page.listings.append(listing)
        if not feed_seen and not page.listings and not page.failures:
            raise PageParseError("Relay JSON has no marketplace feed_units")
        return page

    def _listing(self, node: dict[str, Any], page_url: str) -> ParsedListing:
        ident = text_or_none(node.get("id"))
        if not ident or not ident.isdigit():
            raise PageParseError("marketplace listing has no numeric id")
        if node.get("is_sold") or node.get("is_hidden"):
            raise PageParseError(f"listing {ident} is sold or hidden")
        geo = dig(node, "location", "reverse_geocode") or {}
        subtitles = " ".join(
            str(s.get("subtitle"))
            for s in node.get("custom_sub_titles_with_rendering_flags") or []
            if isinstance(s, dict)
        )
        photo = dig(node, "primary_listing_photo", "image", "uri")
        record = RawRecord(
            source=self.source,
            external_id=ident,
            url=item_url(page_url, ident),
            title=text_or_none(node.get("custom_title"))
            or text_or_none(node.get("marketplace_listing_title")),
            price=dig(node, "listing_price", "amount") or dig(node, "listing_price", "formatted_amount"),
            city=text_or_none(geo.get("city")),
            state=text_or_none(geo.get("state")),
            bedrooms=subtitles or node.get("marketplace_listing_title"),
            bathrooms=subtitles or node.get("marketplace_listing_title"),
            property_type=text_or_none(node.get("marketplace_listing_title")),
            photos=[photo] if isinstance(photo, str) else [],
            contact_name=text_or_none(dig(node, "marketplace_listing_seller", "name")),
        )
        return ParsedListing(record, fragment_of(node), needs_detail=True)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Description, coordinates, creation time, photos and room details from the item page."""
        target: dict[str, Any] | None = None
        for payload in relay_payloads(text):
            for obj in walk(payload):
                if "redacted_description" in obj or (
                    "creation_time" in obj and "marketplace_listing_title" in obj
                ):
                    target = obj
                    break
            if target is not None:
                break
        if target is None:
            raise PageParseError("Marketplace item page has no product details in its Relay JSON")
        labels = " · ".join(
            str(f.get("display_label"))
            for section in target.get("pdp_display_sections") or []
            if isinstance(section, dict)
            for f in section.get("pdp_fields") or []
            if isinstance(f, dict)
        )
        unit_info = text_or_none(target.get("unit_room_info")) or labels or None
        photos = [
            p
            for p in (dig(photo, "image", "uri") for photo in target.get("listing_photos") or [])
            if isinstance(p, str)
        ]
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            title=text_or_none(target.get("custom_title"))
            or text_or_none(target.get("marketplace_listing_title")),
            description=text_or_none(dig(target, "redacted_description", "text")),
            price=dig(target, "listing_price", "amount"),
            address=text_or_none(dig(target, "home_address", "street")),
            city=text_or_none(dig(target, "location", "reverse_geocode_detailed", "city")),
            state=text_or_none(dig(target, "location", "reverse_geocode_detailed", "state")),
            zip=text_or_none(dig(target, "location", "reverse_geocode_detailed", "postal_code")),
            lat=dig(target, "location", "latitude"),
            lng=dig(target, "location", "longitude"),
            bedrooms=unit_info,
            bathrooms=unit_info,
            sqft=labels or None,
            property_type=text_or_none(target.get("property_type")) or labels or None,
            photos=photos,
            posted_at=target.get("creation_time"),
            contact_name=text_or_none(dig(target, "marketplace_listing_seller", "name")),
        )
        return detail.merged(stub)
