"""Zillow pages: search results in __NEXT_DATA__ and home-detail pages with gdpClientCache."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiqleads_dev.samples.model import E, Sample, money, script_json


def zillow_result(s: Sample, base: str = "") -> dict[str, Any]:
    """One entry of searchResults.listResults."""
    zpid = s.ident("zillow")
    photos = s.photo_urls("zillow")
    return {
        "zpid": zpid,
        "id": zpid,
        "providerListingId": None,
        "imgSrc": photos[0] if photos else None,
        "hasImage": bool(photos),
        "detailUrl": f"{base}{zillow_detail_path(s)}",
        "statusType": "FOR_SALE",
        "statusText": "For sale by owner",
        "countryCurrency": "$",
        "price": money(s.price),
        "unformattedPrice": s.price,
        "address": f"{s.line}, {s.city}, {s.state} {s.zip}",
        "addressStreet": s.line,
        "addressCity": s.city,
        "addressState": s.state,
        "addressZipcode": s.zip,
        "isUndisclosedAddress": False,
        "beds": s.beds,
        "baths": s.baths,
        "area": s.sqft,
        "latLong": {"latitude": s.lat, "longitude": s.lng},
        "isZillowOwned": False,
        "variableData": {"type": "DAYS_ON", "text": f"{s.days_ago} days on Zillow"},
        "marketingStatusSimplifiedCd": "For Sale by Owner",
        "carouselPhotos": [{"url": u} for u in photos],
        "hdpData": {
            "homeInfo": {
                "zpid": int(zpid),
                "streetAddress": s.line,
                "zipcode": s.zip,
                "city": s.city,
                "state": s.state,
                "latitude": s.lat,
                "longitude": s.lng,
                "price": float(s.price),
                "bathrooms": s.baths,
                "bedrooms": s.beds,
                "livingArea": s.sqft,
                "homeType": s.property_type if s.property_type != "LAND" else "LOT",
                "homeStatus": "FOR_SALE",
                "daysOnZillow": s.days_ago,
                "isFeatured": False,
                "shouldHighlight": False,
                "listing_sub_type": {"is_FSBO": True},
                "isNonOwnerOccupied": True,
                "currency": "USD",
                "country": "USA",
                "taxAssessedValue": int(s.price * 0.82),
                "lotAreaValue": 0.18,
                "lotAreaUnit": "acres",
            }
        },
    }


def zillow_search_page(
    samples: Iterable[Sample],
    region_slug: str,
    page: int = 1,
    total_pages: int = 1,
    next_url: str | None = None,
) -> str:
    """A Zillow search page with the results in __NEXT_DATA__ (as the site renders it)."""
    results = [zillow_result(s) for s in samples]
    state = {
        "queryState": {
            "usersSearchTerm": region_slug,
            "pagination": {"currentPage": page},
            "filterState": {"isForSaleByOwner": {"value": True}, "isForSaleByAgent": {"value": False}},
        },
        "cat1": {
            "searchResults": {"listResults": results, "mapResults": []},
            "searchList": {
                "pagination": {"nextUrl": next_url} if next_url else {},
                "totalPages": total_pages,
                "totalResultCount": len(results) * total_pages,
                "resultsPerPage": 41,
            },
        },
        "categoryTotals": {"cat1": {"totalResultCount": len(results)}},
    }
    data = {
        "props": {"pageProps": {"searchPageState": state, "pageTitle": f"{region_slug} FSBO"}},
        "page": "/search/SearchPage",
        "query": {"searchQueryState": region_slug},
        "buildId": "zillow-search-1f2e3d",
        "isFallback": False,
        "gssp": True,
    }
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{E(region_slug)} For Sale by Owner | Zillow</title>"
        '<link rel="canonical" href="https://www.zillow.com/"/></head><body>'
        '<div id="__next"><div class="search-page-container"><div id="grid-search-results">'
        '<ul class="photo-cards"></ul></div></div></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{script_json(data)}</script>'
        "</body></html>"
    )


def zillow_detail_page(s: Sample) -> str:
    """A home-detail page: gdpClientCache is a JSON string inside __NEXT_DATA__."""
    zpid = s.ident("zillow")
    prop = {
        "zpid": int(zpid),
        "price": s.price,
        "homeStatus": "FOR_SALE",
        "homeType": s.property_type if s.property_type != "LAND" else "LOT",
        "address": {"streetAddress": s.line, "city": s.city, "state": s.state, "zipcode": s.zip},
        "bedrooms": s.beds,
        "bathrooms": s.baths,
        "livingArea": s.sqft,
        "yearBuilt": s.year,
        "latitude": s.lat,
        "longitude": s.lng,
        "description": s.description,
        "datePostedString": s.posted().date().isoformat(),
        "listingTypeDimension": "For Sale by Owner",
        "attributionInfo": {
            "agentName": s.owner,
            "agentPhoneNumber": s.phone,
            "agentEmail": s.email,
            "brokerName": None,
            "listingAgreement": "FSBO",
        },
        "responsivePhotos": [
            {
                "mixedSources": {
                    "jpeg": [{"url": u.replace("960", "384"), "width": 384}, {"url": u, "width": 960}]
                }
            }
            for u in s.photo_urls("zillow")
        ],
        "resoFacts": {"yearBuilt": s.year, "homeType": s.property_type},
    }
    cache = {f'ForSaleShopperPlatformFullRenderQuery{{"zpid":{zpid}}}': {"property": prop}}
    data = {
        "props": {"pageProps": {"componentProps": {"gdpClientCache": json.dumps(cache), "zpid": int(zpid)}}},
        "page": "/homedetails/[...slug]",
        "buildId": "zillow-hdp-9a8b7c",
    }
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{E(s.line)}, {E(s.city)}, {E(s.state)} {s.zip} | Zillow</title></head><body>"
        '<div id="__next"><div class="ds-home-details-chip"></div></div>'
        f'<script id="__NEXT_DATA__" type="application/json">{script_json(data)}</script>'
        "</body></html>"
    )


def zillow_detail_path(s: Sample) -> str:
    """/homedetails/<address slug>/<zpid>_zpid/."""
    slug = f"{s.street}-{s.city}-{s.state}-{s.zip}".replace(" ", "-")
    return f"/homedetails/{slug}/{s.ident('zillow')}_zpid/"
