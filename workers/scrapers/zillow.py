"""Zillow: search results embedded as JSON in the page (Next.js ``__NEXT_DATA__``, the older
``mobileSearchPageStore`` comment-wrapped script, or the bare search-page-state API response), and
home-detail pages whose ``gdpClientCache`` holds the property record as a JSON string."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

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
from aiqleads.workers.scrapers.markup import parse_html, script_text, script_with
from aiqleads.workers.scrapers.regions import Region

NOT_FOR_SALE = {"FOR_RENT", "SOLD", "RECENTLY_SOLD", "OFF_MARKET", "OTHER"}


class ZillowParser:
    """Parser for Zillow search and home-detail pages."""

    source = "ZILLOW"
    name = "zillow"
    default_base_url = "https://www.zillow.com"
    hosts: tuple[str, ...] = ("zillow.com", "www.zillow.com")

    def search_url(self, base_url: str, region: Region, page: int) -> str:
        """/dallas-tx/fsbo/ then /dallas-tx/fsbo/2_p/ … (for-sale-by-owner listings of a metro)."""
        root = f"{base_url.rstrip('/')}/{quote(region.zillow)}/fsbo/"
        return root if page <= 1 else f"{root}{page}_p/"

    def parse_search(self, text: str, url: str, region: Region) -> SearchPage:
        """Listings from the embedded searchResults JSON."""
        state = _search_state(text)
        results = dig(state, "cat1", "searchResults")
        if not isinstance(results, dict):
            raise PageParseError("Zillow page has no cat1.searchResults object")
        items = results.get("listResults")
        if not isinstance(items, list) or not items:
            items = results.get("mapResults")
        if not isinstance(items, list):
            raise PageParseError("Zillow searchResults has no listResults array")
        page = SearchPage()
        for item in items:
            try:
                page.listings.append(self._listing(item, url))
            except (PageParseError, TypeError, ValueError, AttributeError) as exc:
                zpid = dig(item, "zpid") if isinstance(item, dict) else None
                page.failures.append(ListingFailure(str(exc), fragment_of(item), text_or_none(zpid)))
        next_href = dig(state, "cat1", "searchList", "pagination", "nextUrl")
        page.next_url = absolute(url, next_href)
        return page

    def _listing(self, item: Any, page_url: str) -> ParsedListing:
        if not isinstance(item, dict):
            raise PageParseError("search result is not an object")
        home = dig(item, "hdpData", "homeInfo") or {}
        zpid = text_or_none(item.get("zpid") or home.get("zpid"))
        if not zpid:
            raise PageParseError("search result has no zpid")
        status = text_or_none(item.get("statusType") or home.get("homeStatus"))
        if status in NOT_FOR_SALE:
            raise PageParseError(f"listing {zpid} is not for sale ({status})")
        raw_lat_long = item.get("latLong")
        lat_long: dict[str, Any] = raw_lat_long if isinstance(raw_lat_long, dict) else {}
        photos = [p.get("url") for p in item.get("carouselPhotos") or [] if isinstance(p, dict)]
        if not photos and item.get("imgSrc"):
            photos = [item["imgSrc"]]
        days = home.get("daysOnZillow")
        raw_sub_type = home.get("listing_sub_type")
        sub_type: dict[str, Any] = raw_sub_type if isinstance(raw_sub_type, dict) else {}
        record = RawRecord(
            source=self.source,
            external_id=zpid,
            url=absolute(page_url, item.get("detailUrl")),
            price=item.get("unformattedPrice") or home.get("price") or item.get("price"),
            address=text_or_none(item.get("address")),
            street=text_or_none(item.get("addressStreet") or home.get("streetAddress")),
            city=text_or_none(item.get("addressCity") or home.get("city")),
            state=text_or_none(item.get("addressState") or home.get("state")),
            zip=text_or_none(item.get("addressZipcode") or home.get("zipcode")),
            lat=lat_long.get("latitude", home.get("latitude")),
            lng=lat_long.get("longitude", home.get("longitude")),
            bedrooms=item.get("beds", home.get("bedrooms")),
            bathrooms=item.get("baths", home.get("bathrooms")),
            sqft=item.get("area", home.get("livingArea")),
            year_built=home.get("yearBuilt"),
            property_type=text_or_none(home.get("homeType")),
            photos=[p for p in photos if isinstance(p, str)],
            posted_at=f"{days} days ago" if isinstance(days, int) else None,
            description=text_or_none(item.get("flexFieldText")),
            extra={"fsbo": bool(sub_type.get("is_FSBO")), "status": status, "label": item.get("statusText")},
        )
        return ParsedListing(record, fragment_of(item), needs_detail=record.url is not None)

    def parse_detail(self, text: str, url: str, stub: RawRecord) -> RawRecord:
        """Description, contact, year built and photos from the home-detail page."""
        prop = _detail_property(text)
        raw_address = prop.get("address")
        address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
        raw_attribution = prop.get("attributionInfo")
        attribution: dict[str, Any] = raw_attribution if isinstance(raw_attribution, dict) else {}
        photos: list[str] = []
        for photo in prop.get("responsivePhotos") or prop.get("photos") or []:
            jpegs = dig(photo, "mixedSources", "jpeg")
            if isinstance(jpegs, list) and jpegs:
                best = jpegs[-1].get("url") if isinstance(jpegs[-1], dict) else None
                if isinstance(best, str):
                    photos.append(best)
            elif isinstance(photo, dict) and isinstance(photo.get("url"), str):
                photos.append(photo["url"])
        detail = RawRecord(
            source=self.source,
            external_id=stub.external_id,
            url=stub.url or url,
            description=text_or_none(prop.get("description")),
            price=prop.get("price"),
            street=text_or_none(address.get("streetAddress")),
            city=text_or_none(address.get("city")),
            state=text_or_none(address.get("state")),
            zip=text_or_none(address.get("zipcode")),
            lat=prop.get("latitude"),
            lng=prop.get("longitude"),
            bedrooms=prop.get("bedrooms"),
            bathrooms=prop.get("bathrooms"),
            sqft=prop.get("livingArea"),
            year_built=prop.get("yearBuilt"),
            property_type=text_or_none(prop.get("homeType")),
            photos=photos,
            posted_at=text_or_none(prop.get("datePostedString")),
            contact_name=text_or_none(attribution.get("agentName")),
            contact_phone=text_or_none(attribution.get("agentPhoneNumber")),
            contact_email=text_or_none(attribution.get("agentEmail")),
        )
        # the detail page is the more complete and more recent view: it wins over the search row
        return detail.merged(stub)


def _search_state(text: str) -> dict[str, Any]:
    stripped = text.lstrip()
    if stripped.startswith("{"):  # the search-page-state API answers bare JSON
        try:
            data = json.loads(stripped)
        except ValueError as exc:
            raise PageParseError(f"Zillow search JSON is malformed: {exc}") from exc
        state = dig(data, "props", "pageProps", "searchPageState") or data
        if isinstance(state, dict):
            return state
        raise PageParseError("Zillow search JSON is not an object")
    soup = parse_html(text)
    tag = script_with(soup, "id", "__NEXT_DATA__")
    if tag is not None:
        try:
            data = load_json_text(script_text(tag))
        except ValueError as exc:
            raise PageParseError(f"__NEXT_DATA__ is not valid JSON: {exc}") from exc
        state = dig(data, "props", "pageProps", "searchPageState")
        if isinstance(state, dict):
            return state
        raise PageParseError("__NEXT_DATA__ has no props.pageProps.searchPageState")
    tag = script_with(soup, "data-zrr-shared-data-key", "mobileSearchPageStore")
    if tag is not None:
        try:
            data = load_json_text(script_text(tag))
        except ValueError as exc:
            raise PageParseError(f"mobileSearchPageStore is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            return data
    raise PageParseError("no __NEXT_DATA__ or searchResults JSON on the Zillow page")


def _detail_property(text: str) -> dict[str, Any]:
    tag = script_with(parse_html(text), "id", "__NEXT_DATA__")
    if tag is None:
        raise PageParseError("Zillow detail page has no __NEXT_DATA__")
    try:
        data = load_json_text(script_text(tag))
    except ValueError as exc:
        raise PageParseError(f"__NEXT_DATA__ is not valid JSON: {exc}") from exc
    cache = dig(data, "props", "pageProps", "componentProps", "gdpClientCache")
    if isinstance(cache, str):  # the cache is itself a JSON document inside a string
        try:
            cache = json.loads(cache)
        except ValueError as exc:
            raise PageParseError(f"gdpClientCache is not valid JSON: {exc}") from exc
    for obj in walk(cache if cache is not None else data):
        prop = obj.get("property")
        if isinstance(prop, dict) and prop.get("zpid") is not None:
            return prop
    raise PageParseError("Zillow detail page has no property record")
