"""Craigslist: the static search page (result rows ``li.cl-static-search-result`` plus the
``ld_searchpage_results`` JSON-LD ItemList with coordinates and room counts) and the posting page
(title, price, map coordinates, address, attribute groups, body, JSON-LD)."""

from __future__ import annotations

import json
import re
from typing import Any

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
)
from aiqleads.workers.scrapers.markup import (
    Element,
    inner_html,
    outer_html,
    parse_html,
    remove,
    script_text,
    script_with,
    select,
    select_one,
    text_of,
)
from aiqleads.workers.scrapers.regions import Region

_POST_ID = re.compile(r"/(\d{8,12})\.html")
PAGE_SIZE = 120


def post_id(url: str | None) -> str | None:
    """The posting id in a Craigslist URL (…/7765432101.html)."""
    match = _POST_ID.search(url or "")
    return match.group(1) if match else None


class CraigslistParser:
    """Parser for Craigslist real-estate-for-sale search and posting pages."""

    source = "CRAIGSLIST"
    name = "craigslist"
    default_base_url = "https://{region}.craigslist.org"
    hosts: tuple[str, ...] = ("craigslist.org", "*.craigslist.org")

    def search_url(self, base_url: str, region: Region, page: int) -> str:
        """/search/rea?purveyor=owner, then &s=120, &s=240 … (real estate by owner)."""
        root = base_url.format(region=region.craigslist).rstrip("/")
        url = f"{root}/search/rea?purveyor=owner"
        return url if page <= 1 else f"{url}&s={(page - 1) * PAGE_SIZE}"

    def parse_search(self, text: str, url: str, region: Region) -> SearchPage:
        """Rows joined with the JSON-LD items by position."""
        soup = parse_html(text)
        rows = select(soup, "li.cl-static-search-result")
        if not rows and select_one(soup, "ol.cl-static-search-results") is None:
            raise PageParseError("Craigslist page has no cl-static-search-results list")
        ld_items = _ld_items(soup)
        page = SearchPage()
        for position, row in enumerate(rows):
            ld = ld_items.get(position, {})
            try:
                page.listings.append(self._row(row, ld, url, region))
            except PageParseError as exc:
                link = select_one(row, "a")
                ident = post_id(link.get("href") if link is not None else None)
                page.failures.append(ListingFailure(str(exc), fragment_of(outer_html(row)), ident))
        nxt = select_one(soup, "link[rel~=next]")
        if nxt is None:
            nxt = select_one(soup, "a.next, a.cl-next-page")
        page.next_url = absolute(url, nxt.get("href")) if nxt is not None else None
        return page

    def _row(self, row: Element, ld: dict[str, Any], page_url: str, region: Region) -> ParsedListing:
        link = select_one(row, "a")
        href = absolute(page_url, link.get("href")) if link is not None else None
        pid = post_id(href)
        if not href or not pid:
            raise PageParseError("result row has no posting link")
        title_el = select_one(row, ".title")
        price_el = select_one(row, ".price")
        location_el = select_one(row, ".location")
        title = text_of(title_el) if title_el is not None else row.get("title")
        ld_address = ld.get("address")
        address: dict[str, Any] = ld_address if isinstance(ld_address, dict) else {}
        images = ld.get("image")
        record = RawRecord(
            source=self.source,
            external_id=pid,
            url=href,
            title=text_or_none(title),
            price=text_of(price_el, "") if price_el is not None else None,
            city=text_or_none(address.get("addressLocality")) or region.city,
            state=text_or_none(address.get("addressRegion")) or region.state,
            zip=text_or_none(address.get("postalCode")),
            street=text_or_none(address.get("streetAddress")),
            lat=ld.get("latitude"),
            lng=ld.get("longitude"),
            bedrooms=ld.get("numberOfBedrooms"),
            bathrooms=ld.get("numberOfBathroomsTotal"),
            property_type=text_or_none(ld.get("@type")),
            photos=[i for i in images if isinstance(i, str)] if isinstance(images, list) else [],
            extra={"neighborhood": text_of(location_el, "") if location_el is not None else None},
        )
        fragment = fragment_of(outer_html(row) + ("\n" + json.dumps(ld) if ld else ""))
        return ParsedListing(record, fragment, needs_detail=True)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Body, address, map coordinates, attributes and posting time from the posting page."""
        soup = parse_html(text)
        body = select_one(soup, "#postingbody")
        title = select_one(soup, "#titletextonly")
        if body is None and title is None:
            raise PageParseError("Craigslist posting has neither #titletextonly nor #postingbody")
        if body is not None:
            for junk in select(body, ".print-information, .print-qrcode-container"):
                remove(junk)
        map_el = select_one(soup, "#map")
        address_el = select_one(soup, ".mapaddress")
        price_el = select_one(soup, ".postingtitletext .price")
        time_el = select_one(soup, ".postinginfos time, time.date")
        attrs = " ".join(text_of(a) for a in select(soup, ".attrgroup .attr, .attrgroup span"))
        housing = _labelled(soup, "housing type")
        ld = _posting_ld(soup)
        raw_address = ld.get("address")
        ld_address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
        photos = [a.get("href") for a in select(soup, "#thumbs a")]
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            title=text_of(title) if title is not None else None,
            description=inner_html(body) if body is not None else None,
            price=text_of(price_el, "") if price_el is not None else None,
            street=text_or_none(text_of(address_el)) if address_el is not None else None,
            city=text_or_none(ld_address.get("addressLocality")),
            state=text_or_none(ld_address.get("addressRegion")),
            zip=text_or_none(ld_address.get("postalCode")),
            lat=map_el.get("data-latitude") if map_el is not None else ld.get("latitude"),
            lng=map_el.get("data-longitude") if map_el is not None else ld.get("longitude"),
            bedrooms=_match(attrs, r"(\d+)\s*BR") or ld.get("numberOfBedrooms"),
            bathrooms=_match(attrs, r"(\d+(?:\.\d+)?)\s*Ba") or ld.get("numberOfBathroomsTotal"),
            sqft=_match(attrs, r"(\d[\d,]*)\s*ft"),
            property_type=housing or text_or_none(ld.get("@type")),
            photos=[p for p in photos if isinstance(p, str)],
            posted_at=time_el.get("datetime") if time_el is not None else None,
        )
        return detail.merged(stub)


def _match(text: str, pattern: str) -> str | None:
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(1) if match else None


def _labelled(soup: Element, label: str) -> str | None:
    for attr in select(soup, ".attrgroup .attr"):
        labl = select_one(attr, ".labl")
        valu = select_one(attr, ".valu")
        if labl is not None and valu is not None and label in text_of(labl, "").lower():
            return text_of(valu) or None
    return None


def _ld_items(soup: Element) -> dict[int, dict[str, Any]]:
    tag = script_with(soup, "id", "ld_searchpage_results")
    if tag is None:
        return {}
    try:
        data = load_json_text(script_text(tag))
    except ValueError:
        return {}  # the rows alone still carry title, price and link
    items: dict[int, dict[str, Any]] = {}
    for index, element in enumerate(dig(data, "itemListElement") or []):
        item = dig(element, "item")
        if not isinstance(item, dict):
            continue
        try:
            position = int(dig(element, "position") if dig(element, "position") is not None else index)
        except (TypeError, ValueError):
            position = index
        items[position] = item
    return items


def _posting_ld(soup: Element) -> dict[str, Any]:
    tag = script_with(soup, "id", "ld_posting_data")
    if tag is None:
        return {}
    try:
        data = load_json_text(script_text(tag))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
