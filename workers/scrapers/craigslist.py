"""Craigslist: the static search page (result rows ``li.cl-static-search-result`` plus the
``ld_searchpage_results`` JSON-LD ItemList with coordinates and room counts) and the posting page
(title, price, map coordinates, address, attribute groups, body, JSON-LD)."""

from __future__ import annotations

import json
import re
from typing import Any

from bs4 import BeautifulSoup, Tag

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
        soup = BeautifulSoup(text, "lxml")
        rows = soup.select("li.cl-static-search-result")
        if not rows and soup.select_one("ol.cl-static-search-results") is None:
            raise PageParseError("Craigslist page has no cl-static-search-results list")
        ld_items = _ld_items(soup)
        page = SearchPage()
        for position, row in enumerate(rows):
            ld = ld_items.get(position, {})
            try:
                page.listings.append(self._row(row, ld, url, region))
            except PageParseError as exc:
                link = row.find("a")
                href = link.get("href") if isinstance(link, Tag) else None
                page.failures.append(
                    ListingFailure(
                        str(exc), fragment_of(str(row)), post_id(href if isinstance(href, str) else None)
                    )
                )
        nxt = soup.find("link", rel="next") or soup.select_one("a.next, a.cl-next-page")
        page.next_url = absolute(url, nxt.get("href")) if isinstance(nxt, Tag) else None
        return page

    def _row(self, row: Tag, ld: dict[str, Any], page_url: str, region: Region) -> ParsedListing:
        link = row.find("a")
        href = absolute(page_url, link.get("href")) if isinstance(link, Tag) else None
        pid = post_id(href)
        if not href or not pid:
            raise PageParseError("result row has no posting link")
        title_el = row.select_one(".title")
        price_el = row.select_one(".price")
        location_el = row.select_one(".location")
        title = title_el.get_text(" ", strip=True) if title_el else row.get("title")
        ld_address = ld.get("address")
        address: dict[str, Any] = ld_address if isinstance(ld_address, dict) else {}
        images = ld.get("image")
        record = RawRecord(
            source=self.source,
            external_id=pid,
            url=href,
            title=text_or_none(title),
            price=price_el.get_text(strip=True) if price_el else None,
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
            extra={"neighborhood": location_el.get_text(strip=True) if location_el else None},
        )
        fragment = fragment_of(str(row) + ("\n" + json.dumps(ld) if ld else ""))
        return ParsedListing(record, fragment, needs_detail=True)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Body, address, map coordinates, attributes and posting time from the posting page."""
        soup = BeautifulSoup(text, "lxml")
        body = soup.select_one("#postingbody")
        title = soup.select_one("#titletextonly")
        if body is None and title is None:
            raise PageParseError("Craigslist posting has neither #titletextonly nor #postingbody")
        if body is not None:
            for junk in body.select(".print-information, .print-qrcode-container"):
                junk.decompose()
        map_el = soup.select_one("#map")
        address_el = soup.select_one(".mapaddress")
        price_el = soup.select_one(".postingtitletext .price")
        time_el = soup.select_one(".postinginfos time, time.date")
        attrs = " ".join(
            a.get_text(" ", strip=True) for a in soup.select(".attrgroup .attr, .attrgroup span")
        )
        housing = _labelled(soup, "housing type")
        ld = _posting_ld(soup)
        raw_address = ld.get("address")
        ld_address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
        photos = [a.get("href") for a in soup.select("#thumbs a") if isinstance(a.get("href"), str)]
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            title=title.get_text(" ", strip=True) if title else None,
            description=body.decode_contents() if body is not None else None,
            price=price_el.get_text(strip=True) if price_el else None,
            street=text_or_none(address_el.get_text(" ", strip=True)) if address_el else None,
            city=text_or_none(ld_address.get("addressLocality")),
            state=text_or_none(ld_address.get("addressRegion")),
            zip=text_or_none(ld_address.get("postalCode")),
            lat=map_el.get("data-latitude") if isinstance(map_el, Tag) else ld.get("latitude"),
            lng=map_el.get("data-longitude") if isinstance(map_el, Tag) else ld.get("longitude"),
            bedrooms=_match(attrs, r"(\d+)\s*BR") or ld.get("numberOfBedrooms"),
            bathrooms=_match(attrs, r"(\d+(?:\.\d+)?)\s*Ba") or ld.get("numberOfBathroomsTotal"),
            sqft=_match(attrs, r"(\d[\d,]*)\s*ft"),
            property_type=housing or text_or_none(ld.get("@type")),
            photos=[p for p in photos if isinstance(p, str)],
            posted_at=time_el.get("datetime") if isinstance(time_el, Tag) else None,
        )
        return detail.merged(stub)


def _match(text: str, pattern: str) -> str | None:
    match = re.search(pattern, text, re.IGNORECASE)
    return match.group(1) if match else None


def _labelled(soup: BeautifulSoup, label: str) -> str | None:
    for attr in soup.select(".attrgroup .attr"):
        labl = attr.select_one(".labl")
        valu = attr.select_one(".valu")
        if labl and valu and label in labl.get_text(strip=True).lower():
            return valu.get_text(" ", strip=True) or None
    return None


def _ld_items(soup: BeautifulSoup) -> dict[int, dict[str, Any]]:
    tag = soup.find("script", id="ld_searchpage_results")
    if tag is None:
        return {}
    try:
        data = load_json_text(tag.get_text())
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


def _posting_ld(soup: BeautifulSoup) -> dict[str, Any]:
    tag = soup.find("script", id="ld_posting_data")
    if tag is None:
        return {}
    try:
        data = load_json_text(tag.get_text())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
