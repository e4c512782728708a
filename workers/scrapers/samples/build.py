"""Sample pages for the four sources, in each site's real page structure.

The shipped pages under this folder (zillow/, craigslist/, fsbo/, facebook/ and manifest.json) are
written by ``python -m aiqleads.workers.scrapers.samples.build``; ``aiqleads seed --demo`` serves
them from a loopback HTTP server and runs the real scrapers against it. Tests and the benchmark use
the same render functions to build variants (broken markup, injection, many listings).
"""

from __future__ import annotations

import hashlib
import html
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiqleads.domain.cleaning.geocode import zip_centroid

SAMPLES_DIR = Path(__file__).resolve().parent
ANCHOR = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)  # sample pages are frozen in time


@dataclass
class Sample:
    """One property as the sample pages show it (each source writes it its own way)."""

    key: str
    street: str
    city: str
    state: str
    zip: str
    property_type: str
    price: int
    beds: int | None
    baths: float | None
    sqft: int | None
    year: int | None
    title: str
    description: str
    owner: str
    phone: str
    email: str | None
    sources: tuple[str, ...]
    days_ago: int = 3
    unit: str | None = None
    photos: int = 3
    region: str = ""
    lat: float = 0.0
    lng: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.lat:
            centroid = zip_centroid(self.zip)
            rng = random.Random(self.key)
            base_lat, base_lng = (centroid.lat, centroid.lng) if centroid else (32.78, -96.80)
            self.lat = round(base_lat + rng.uniform(-0.006, 0.006), 6)
            self.lng = round(base_lng + rng.uniform(-0.006, 0.006), 6)
        if not self.region:
            self.region = self.city.lower()

    def ident(self, source: str) -> str:
        """The listing's id on a source (zpid, posting id, FSBO id, Marketplace id)."""
        n = int(hashlib.sha256(self.key.encode()).hexdigest()[:12], 16) % 900_000 + 100_000
        return {
            "zillow": str(20_000_000 + n),
            "craigslist": str(7_700_000_000 + n),
            "fsbo": str(n),
            "facebook": str(1_093_847_560_000_000 + n),
        }[source]

    @property
    def line(self) -> str:
        """Street with unit."""
        return f"{self.street} {self.unit}" if self.unit else self.street

    def photo_urls(self, source: str) -> list[str]:
        """Photo URLs in the CDN style of each source."""
        hosts = {
            "zillow": "https://photos.zillowstatic.com/fp/{k}{i}-cc_ft_960.jpg",
            "craigslist": "https://images.craigslist.org/00{i}0{i}_{k}_600x450.jpg",
            "fsbo": "https://fsbo.com/photos/{k}/{i}.jpg",
            "facebook": "https://scontent-dfw5-1.xx.fbcdn.net/v/t45.5328-4/{k}_{i}_n.jpg",
        }
        return [hosts[source].format(k=self.key, i=i) for i in range(1, self.photos + 1)]

    def posted(self) -> datetime:
        """When it was posted (relative to the frozen anchor)."""
        return ANCHOR - timedelta(days=self.days_ago, hours=len(self.key))


E = html.escape
TYPE_LABELS = {
    "SINGLE_FAMILY": ("House", "house", "Single Family", "SingleFamilyResidence"),
    "CONDO": ("Condo", "condo", "Condo", "Apartment"),
    "TOWNHOUSE": ("Townhouse", "townhouse", "Townhome", "House"),
    "MULTI_FAMILY": ("Multi-family", "duplex", "Multi-Family", "House"),
    "LAND": ("Land", "land", "Lots/Land", "Place"),
    "MANUFACTURED": ("Mobile home", "manufactured", "Mobile/Manufactured", "House"),
}


def _money(value: int) -> str:
    return f"${value:,}"


# --------------------------------------------------------------------------------------- Zillow
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
        "price": _money(s.price),
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
        f'<script id="__NEXT_DATA__" type="application/json">{_script_json(data)}</script>'
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
        f'<script id="__NEXT_DATA__" type="application/json">{_script_json(data)}</script>'
        "</body></html>"
    )


# ----------------------------------------------------------------------------------- Craigslist
def craigslist_search_page(
    samples: Iterable[Sample], region: str, next_href: str | None = None, link_root: str | None = None
) -> str:
    """The static search page: result rows plus the JSON-LD ItemList (links under link_root)."""
    items = list(samples)
    rows = []
    ld_elements = []
    for position, s in enumerate(items):
        pid = s.ident("craigslist")
        root = link_root if link_root is not None else f"/{region}"
        href = f"{root}/reo/d/{craigslist_slug(s)}/{pid}.html"
        rows.append(
            f'<li class="cl-static-search-result" title="{E(s.title)}">'
            f'<a href="{href}"><div class="title">{E(s.title)}</div>'
            f'<div class="details"><div class="price">{_money(s.price)}</div>'
            f'<div class="location">{E(s.extra.get("hood", s.city))}</div></div></a></li>'
        )
        item: dict[str, Any] = {
            "@type": TYPE_LABELS[s.property_type][3],
            "name": s.title,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": s.city,
                "addressRegion": s.state,
                "postalCode": "",
                "streetAddress": "",
                "addressCountry": "",
            },
            "latitude": s.lat,
            "longitude": s.lng,
            "image": s.photo_urls("craigslist")[:1],
        }
        if s.beds is not None:
            item["numberOfBedrooms"] = str(s.beds)
        if s.baths is not None:
            item["numberOfBathroomsTotal"] = s.baths
        ld_elements.append({"@type": "ListItem", "position": str(position), "item": item})
    ld = {"@context": "https://schema.org", "@type": "ItemList", "itemListElement": ld_elements}
    nxt = f'<link rel="next" href="{E(next_href)}">' if next_href else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="UTF-8"><title>'
        f"{E(region)} real estate - by owner - craigslist</title>{nxt}"
        f'<script type="application/ld+json" id="ld_searchpage_results">{_script_json(ld)}</script>'
        '</head><body><div class="cl-content"><main><div id="search-results-page-1">'
        f'<ol class="cl-static-search-results">{"".join(rows)}</ol></div></main></div></body></html>'
    )


def craigslist_posting_page(s: Sample, region: str) -> str:
    """A posting page: title, price, map, address, attribute groups, body, JSON-LD."""
    pid = s.ident("craigslist")
    attrs = []
    if s.beds is not None and s.baths is not None:
        attrs.append(f'<span class="attr important">{s.beds}BR / {s.baths:g}Ba</span>')
    if s.sqft:
        attrs.append(f'<span class="attr important">{s.sqft}ft<sup>2</sup></span>')
    housing = TYPE_LABELS[s.property_type][1]
    photos = "".join(
        f'<a id="{i}_thumb_{pid}" href="{u}" class="thumb"><img src="{u.replace("600x450", "50x50c")}"></a>'
        for i, u in enumerate(s.photo_urls("craigslist"))
    )
    ld = {
        "@context": "https://schema.org",
        "@type": TYPE_LABELS[s.property_type][3],
        "name": s.title,
        "numberOfBedrooms": s.beds,
        "numberOfBathroomsTotal": s.baths,
        "latitude": s.lat,
        "longitude": s.lng,
        "address": {
            "@type": "PostalAddress",
            "addressLocality": s.city,
            "addressRegion": s.state,
            "postalCode": s.zip,
            "streetAddress": "",
        },
    }
    body = E(s.description).replace("\n", "<br>\n")
    street = s.extra.get("cl_street", s.line)
    return (
        f'<!DOCTYPE html><html><head><meta charset="UTF-8"><title>{E(s.title)} - real estate - by '
        "owner</title>"
        f'<script type="application/ld+json" id="ld_posting_data">{_script_json(ld)}</script></head><body>'
        '<section class="body"><h1 class="postingtitle"><span class="postingtitletext">'
        f'<span id="titletextonly">{E(s.title)}</span> - <span class="price">{_money(s.price)}</span>'
        f"<span> ({E(s.extra.get('hood', s.city))})</span></span></h1>"
        '<div class="mapAndAttrs"><div class="mapbox">'
        f'<div id="map" class="viewposting" data-latitude="{s.lat}" data-longitude="{s.lng}" '
        'data-accuracy="10"></div>'
        f'<div class="mapaddress">{E(street)}</div></div>'
        f'<div class="attrgroup">{"".join(attrs)}</div>'
        '<div class="attrgroup"><div class="attr"><span class="labl">housing type:</span>'
        f'<span class="valu"><a href="/search/rea?housing_type=6">{housing}</a></span></div></div></div>'
        f'<div id="thumbs">{photos}</div>'
        '<section id="postingbody"><div class="print-information print-qrcode-container">'
        '<p class="print-qrcode-label">QR Code Link to This Post</p></div>\n'
        f"{body}</section>"
        f'<div class="postinginfos"><p class="postinginfo">post id: {pid}</p>'
        '<p class="postinginfo reveal">posted: <time class="date timeago" '
        f'datetime="{s.posted().isoformat()}">'
        f"{s.posted():%Y-%m-%d %H:%M}</time></p></div></section></body></html>"
    )


# ----------------------------------------------------------------------------------------- FSBO
def fsbo_search_page(samples: Iterable[Sample], next_href: str | None = None) -> str:
    """Listing cards."""
    cards = []
    for s in samples:
        ident = s.ident("fsbo")
        facts = []
        if s.beds is not None:
            facts.append(f"<li>{s.beds} Beds</li>")
        if s.baths is not None:
            facts.append(f"<li>{s.baths:g} Baths</li>")
        if s.sqft:
            facts.append(f"<li>{s.sqft:,} Sq Ft</li>")
        cards.append(
            f'<div class="listing-item" data-listing-id="{ident}">'
            f'<a class="listing-link" href="/listings/listings/show/id/{ident}/">'
            f'<img class="listing-photo" src="{s.photo_urls("fsbo")[0]}" alt="photo"></a>'
            f'<h3 class="listing-title">{E(s.title)}</h3>'
            f'<div class="listing-price">{E(s.extra.get("fsbo_price", _money(s.price)))}</div>'
            '<div class="listing-address"><span '
            f'class="street">{E(s.extra.get("fsbo_street", s.line))}</span>, '
            f'<span class="city">{E(s.city)}</span>, <span class="state">{s.state}</span> '
            f'<span class="zip">{s.zip}</span></div>'
            f'<ul class="listing-facts">{"".join(facts)}</ul></div>'
        )
    nxt = (
        f'<nav class="pagination"><a class="next" rel="next" href="{E(next_href)}">Next</a></nav>'
        if next_href
        else ""
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Homes For Sale By Owner | FSBO.com</title>'
        '</head><body><div id="content"><h1>For Sale By Owner Listings</h1>'
        f'<div class="listings-results">{"".join(cards)}</div>{nxt}</div></body></html>'
    )


def fsbo_listing_page(s: Sample) -> str:
    """The listing page with schema.org microdata and a details table."""
    rows = [("Property Type", TYPE_LABELS[s.property_type][2])]
    if s.beds is not None:
        rows.append(("Bedrooms", str(s.beds)))
    if s.baths is not None:
        rows.append(("Bathrooms", f"{s.baths:g}"))
    if s.sqft:
        rows.append(("Square Feet", f"{s.sqft:,}"))
    if s.year:
        rows.append(("Year Built", str(s.year)))
    rows.append(("Listed", s.posted().strftime("%m/%d/%Y")))
    table = "".join(f"<tr><th>{k}</th><td>{E(v)}</td></tr>" for k, v in rows)
    gallery = "".join(f'<img src="{u}" alt="">' for u in s.photo_urls("fsbo"))
    email = f'<a class="seller-email" href="mailto:{E(s.email)}">Email seller</a>' if s.email else ""
    body = "".join(f"<p>{E(p)}</p>" for p in s.description.split("\n") if p.strip())
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{E(s.title)} | '
        "FSBO.com</title></head><body>"
        '<div class="listing-detail" itemscope '
        f'itemtype="https://schema.org/{TYPE_LABELS[s.property_type][3]}">'
        f'<h1 class="listing-title" itemprop="name">{E(s.title)}</h1>'
        f'<div class="price" itemprop="price">{E(s.extra.get("fsbo_price", _money(s.price)))}</div>'
        '<div class="address" itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">'
        f'<span itemprop="streetAddress">{E(s.extra.get("fsbo_street", s.line))}</span>, '
        f'<span itemprop="addressLocality">{E(s.city)}</span>, <span '
        f'itemprop="addressRegion">{s.state}</span> '
        f'<span itemprop="postalCode">{s.zip}</span></div>'
        '<div itemprop="geo" itemscope itemtype="https://schema.org/GeoCoordinates">'
        f'<meta itemprop="latitude" content="{s.lat}"><meta itemprop="longitude" content="{s.lng}"></div>'
        f'<table class="property-details">{table}</table>'
        f'<div class="description" itemprop="description">{body}</div>'
        f'<div class="seller-contact"><span class="seller-name">{E(s.owner)}</span> '
        f'<a class="seller-phone" href="tel:{E(s.phone)}">{E(s.phone)}</a> {email}</div>'
        f'<div class="gallery">{gallery}</div></div></body></html>'
    )


# ------------------------------------------------------------------------------------- Facebook
def facebook_node(s: Sample) -> dict[str, Any]:
    """A marketplace feed listing node."""
    ident = s.ident("facebook")
    label = TYPE_LABELS[s.property_type][0]
    rooms = f"{s.beds} beds · {s.baths:g} baths" if s.beds is not None and s.baths is not None else label
    return {
        "__typename": "GroupCommerceProductItem",
        "id": ident,
        "primary_listing_photo": {
            "__typename": "ProductImage",
            "image": {"uri": s.photo_urls("facebook")[0]},
            "id": f"{ident}1",
        },
        "__isMarketplaceListingRenderable": "GroupCommerceProductItem",
        "listing_price": {
            "formatted_amount": _money(s.price),
            "amount_with_offset_in_currency": str(s.price * 100),
            "amount": f"{s.price}.00",
        },
        "strikethrough_price": None,
        "location": {
            "reverse_geocode": {
                "city": s.city,
                "state": s.state,
                "city_page": {"display_name": f"{s.city}, {s.state}", "id": "108" + ident[-6:]},
            }
        },
        "is_hidden": False,
        "is_live": True,
        "is_pending": False,
        "is_sold": False,
        "is_viewer_seller": False,
        "marketplace_listing_category_id": "1468271819871448",
        "marketplace_listing_title": f"{rooms} - {label}",
        "custom_title": s.title,
        "custom_sub_titles_with_rendering_flags": [{"subtitle": rooms, "rendering_style": "DEFAULT"}],
        "origin_group": None,
        "listing_video": None,
        "parent_listing": None,
        "marketplace_listing_seller": {"__typename": "User", "name": s.owner, "id": "1000" + ident[-8:]},
        "delivery_types": ["IN_PERSON"],
    }


def _relay_script(result_data: dict[str, Any], preloader: str) -> str:
    payload = {
        "require": [
            [
                "ScheduledServerJS",
                "handle",
                None,
                [
                    {
                        "__bbox": {
                            "require": [
                                [
                                    "RelayPrefetchedStreamCache",
                                    "next",
                                    [],
                                    [
                                        preloader,
                                        {"__bbox": {"complete": True, "result": {"data": result_data}}},
                                    ],
                                ]
                            ]
                        }
                    }
                ],
            ]
        ]
    }
    body = _script_json(payload)
    return f'<script type="application/json" data-content-len="{len(body)}" data-sjs>{body}</script>'


def facebook_search_page(samples: Iterable[Sample], cursor: str | None = None) -> str:
    """A Marketplace search page with the feed in a Relay payload."""
    edges = [
        {
            "node": {
                "__typename": "MarketplaceFeedListingStoryObject",
                "story_type": "POST",
                "listing": facebook_node(s),
            }
        }
        for s in samples
    ]
    data = {
        "marketplace_search": {
            "feed_units": {
                "edges": edges,
                "page_info": {"end_cursor": cursor, "has_next_page": cursor is not None},
            }
        }
    }
    return (
        '<!DOCTYPE html><html id="facebook"><head><meta charset="utf-8"><title>Marketplace – Property for '
        "sale"
        '</title></head><body><div id="mount_0_0_x"></div>'
        '<script type="application/json" data-content-len="34" '
        'data-sjs>{"require":[["qplTimingsServerJS"]]}</script>'
        f"{_relay_script(data, 'adp_MarketplaceSearchContentContainerQueryRelayPreloader_6f1a2b')}"
        "</body></html>"
    )


def facebook_item_page(s: Sample) -> str:
    """A Marketplace item page (product details page target)."""
    node = facebook_node(s)
    fields = []
    if s.beds is not None and s.baths is not None:
        fields.append({"display_label": f"{s.beds} beds · {s.baths:g} baths", "icon_name": "bed"})
    fields.append({"display_label": TYPE_LABELS[s.property_type][0], "icon_name": "house"})
    if s.sqft:
        fields.append({"display_label": f"{s.sqft:,} square feet", "icon_name": "ruler"})
    target = {
        **node,
        "redacted_description": {"text": s.description},
        "creation_time": int(s.posted().timestamp()),
        "location": {
            "latitude": s.lat,
            "longitude": s.lng,
            "reverse_geocode_detailed": {"city": s.city, "state": s.state, "postal_code": s.zip},
        },
        "location_text": {"text": f"{s.city}, {s.state}"},
        "home_address": {"street": s.extra.get("fb_street", s.line)},
        "listing_photos": [
            {"image": {"uri": u}, "id": f"p{i}"} for i, u in enumerate(s.photo_urls("facebook"))
        ],
        "pdp_display_sections": [{"section_type": "UNIT_DETAILS", "pdp_fields": fields}],
    }
    data = {"viewer": {"marketplace_product_details_page": {"target": target}}}
    return (
        f'<!DOCTYPE html><html id="facebook"><head><meta charset="utf-8"><title>{E(s.title)} | Facebook'
        '</title></head><body><div id="mount_0_0_y"></div>'
        f"{_relay_script(data, 'adp_MarketplacePDPContainerQueryRelayPreloader_0c9d8e')}</body></html>"
    )


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element (no "</" sequences)."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


# ------------------------------------------------------------------------------- shipped data set
PHONES = iter(range(100, 200))

SAMPLES: list[Sample] = [
    Sample(
        "velasco",
        "6234 Velasco Ave",
        "Dallas",
        "TX",
        "75214",
        "SINGLE_FAMILY",
        489_000,
        3,
        2.0,
        1850,
        1948,
        "Charming 3BR/2BA Lakewood bungalow - by owner",
        "Updated 1948 bungalow on a tree-lined street in Lakewood. Original hardwoods, new roof (2022), "
        "renovated kitchen with quartz counters, big back yard with pecan trees. Walk to White Rock Lake.\n"
        "No agents please. Call or text Maria at 214-555-0143.",
        "Maria Gonzalez",
        "(214) 555-0143",
        "maria.gonzalez@example.com",
        ("zillow", "craigslist", "fsbo", "facebook"),
        days_ago=2,
        extra={
            "hood": "Lakewood",
            "cl_street": "6234 Velasco Avenue",
            "fsbo_price": "$489,000 OBO",
            "fsbo_street": "6234 Velasco Ave.",
            "fb_street": "6234 velasco ave",
        },
    ),
    Sample(
        "swiss",
        "5519 Swiss Ave",
        "Dallas",
        "TX",
        "75214",
        "SINGLE_FAMILY",
        1_150_000,
        4,
        3.5,
        3400,
        1920,
        "Historic Swiss Avenue Prairie-style home",
        "Stately 1920 Prairie-style home in the Swiss Avenue historic district. Four bedrooms, three and a "
        "half baths, sunroom, detached garage apartment. Seller will consider owner financing.",
        "Robert Chen",
        "214.555.0107",
        "rchen.swissave@example.com",
        ("zillow",),
        days_ago=6,
    ),
    Sample(
        "turtlecreek",
        "3225 Turtle Creek Blvd",
        "Dallas",
        "TX",
        "75219",
        "CONDO",
        415_000,
        2,
        2.0,
        1320,
        1985,
        "Turtle Creek high-rise condo with balcony views",
        "12th-floor 2 bed 2 bath condo, floor-to-ceiling windows over Turtle Creek park. 24h concierge, "
        "pool, "
        "two assigned parking spaces. HOA $890/mo includes utilities.",
        "Alan Brooks",
        "+1 469 555 0112",
        None,
        ("zillow", "facebook"),
        days_ago=4,
        unit="Apt 1204",
    ),
    Sample(
        "palopinto",
        "5906 Palo Pinto Ave",
        "Dallas",
        "TX",
        "75206",
        "TOWNHOUSE",
        379_900,
        3,
        2.5,
        1900,
        2006,
        "Lower Greenville townhome, 2-car garage",
        "Three-story townhome two blocks from Greenville Ave. 3 bedrooms, 2.5 baths, rooftop deck, 2 car "
        "attached garage. Text 214 555 0118 for a showing.",
        "Dana Whitfield",
        "214-555-0118",
        None,
        ("craigslist",),
        days_ago=1,
        extra={"hood": "Lower Greenville"},
    ),
    Sample(
        "gaston",
        "4410 Gaston Ave",
        "Dallas",
        "TX",
        "75246",
        "CONDO",
        89_000,
        2,
        2.0,
        1150,
        2001,
        "Cheap 2/2 condo must sell this week!!",
        "I am currently out of the country on a mission trip so I cannot show the unit. Price is firm at "
        "$89,000. To reserve it send a $2,000 deposit by wire transfer or Western Union and I will mail you "
        "the keys and the documents. Email only: quicksale.owner@example.com",
        "James Miller",
        "(469) 555-0199",
        "quicksale.owner@example.com",
        ("craigslist", "facebook"),
        days_ago=0,
        extra={"hood": "East Dallas"},
    ),
    Sample(
        "bataan",
        "2710 Bataan St",
        "Dallas",
        "TX",
        "75212",
        "LAND",
        65_000,
        None,
        None,
        None,
        None,
        "West Dallas buildable lot, 0.17 acre",
        "Vacant 50x150 residential lot zoned R-5(A). Utilities at the street. Near Sylvan | Thirty. "
        "Cash or owner financing. Call 972-555-0124.",
        "Luis Ortega",
        "972-555-0124",
        None,
        ("craigslist",),
        days_ago=9,
        photos=1,
        extra={"hood": "West Dallas"},
    ),
    Sample(
        "sanleandro",
        "8218 San Leandro Dr",
        "Dallas",
        "TX",
        "75218",
        "SINGLE_FAMILY",
        445_000,
        3,
        2.0,
        1720,
        1957,
        "Mid-century ranch near White Rock Lake",
        "Mid-century ranch on a quarter acre. Updated baths, original terrazzo floors, pool. Owner-occupied, "
        "easy to show.",
        "Karen Liu",
        "214-555-0131",
        "karen.liu@example.com",
        ("zillow",),
        days_ago=12,
    ),
    Sample(
        "bowser",
        "4521 Bowser Ave",
        "Dallas",
        "TX",
        "75219",
        "MULTI_FAMILY",
        725_000,
        4,
        4.0,
        2600,
        1940,
        "Oak Lawn duplex - live in one, rent the other",
        "Side-by-side duplex, each unit 2 bed 2 bath with its own washer/dryer. Both units leased through "
        "August at $1,850/mo each. Great income property.",
        "Peter Novak",
        "214-555-0136",
        "pnovak@example.com",
        ("fsbo",),
        days_ago=5,
    ),
    Sample(
        "kinney",
        "1807 Kinney Ave",
        "Austin",
        "TX",
        "78704",
        "SINGLE_FAMILY",
        675_000,
        3,
        2.0,
        1600,
        1950,
        "Bouldin Creek cottage, walk to South Congress",
        "Renovated 1950 cottage in Bouldin Creek, walk to South Congress and Zilker Park. Three bedrooms, "
        "two "
        "baths, detached studio in back. Call 512-555-0147.",
        "Ellen Park",
        "512-555-0147",
        "ellen.park@example.com",
        ("zillow", "facebook"),
        days_ago=3,
    ),
    Sample(
        "barton",
        "1600 Barton Springs Rd",
        "Austin",
        "TX",
        "78704",
        "CONDO",
        525_000,
        2,
        2.0,
        1100,
        2009,
        "Zilker condo with pool, 2 bed 2 bath",
        "Top-floor unit facing Zilker Park. Two bedrooms, two baths, covered parking, pool and gym. "
        "Minutes from downtown.",
        "Sam Ortiz",
        "512-555-0152",
        None,
        ("facebook",),
        days_ago=7,
        unit="Unit 3208",
    ),
    Sample(
        "manchaca",
        "6905 Manchaca Rd",
        "Austin",
        "TX",
        "78745",
        "TOWNHOUSE",
        389_000,
        3,
        2.5,
        1650,
        2015,
        "South Austin townhome, no HOA",
        "2015 townhome with 3 bedrooms and 2.5 baths, fenced yard, no HOA. Close to Mopac.",
        "Grace Kim",
        "512-555-0158",
        "gkim.home@example.com",
        ("zillow",),
        days_ago=10,
    ),
    Sample(
        "driscoll",
        "2116 Driscoll St",
        "Houston",
        "TX",
        "77019",
        "SINGLE_FAMILY",
        849_000,
        3,
        3.0,
        2450,
        2008,
        "River Oaks area home, 3/3, by owner",
        "Three-story home near River Oaks with elevator shaft, chef's kitchen, and rooftop terrace. "
        "Owner: Tom 713-555-0161.",
        "Tom Baker",
        "713-555-0161",
        None,
        ("craigslist",),
        days_ago=2,
        extra={"hood": "Montrose"},
    ),
    Sample(
        "w22nd",
        "1233 W 22nd St",
        "Houston",
        "TX",
        "77008",
        "TOWNHOUSE",
        465_000,
        3,
        3.5,
        2100,
        2012,
        "Heights townhome with rooftop deck",
        "Freestanding Heights townhome, 3 bedrooms each with its own bath, rooftop deck with downtown views.",
        "Nina Patel",
        "713-555-0166",
        "nina.patel@example.com",
        ("craigslist",),
        days_ago=4,
        extra={"hood": "The Heights"},
    ),
    Sample(
        "cookrd",
        "7700 Cook Rd",
        "Houston",
        "TX",
        "77072",
        "MANUFACTURED",
        59_500,
        3,
        2.0,
        1216,
        1999,
        "3 bed mobile home on its own lot",
        "1999 double-wide on a 0.2 acre lot that is included. New AC, new flooring. Cash only.",
        "Ray Dixon",
        "832-555-0170",
        None,
        ("craigslist",),
        days_ago=8,
        unit="Lot 42",
        extra={"hood": "Alief"},
    ),
    Sample(
        "campbell",
        "4202 E Campbell Ave",
        "Phoenix",
        "AZ",
        "85018",
        "SINGLE_FAMILY",
        735_000,
        4,
        2.0,
        2050,
        1960,
        "Arcadia-area ranch with pool",
        "Arcadia Lite ranch on an irrigated lot, diving pool, citrus trees, updated kitchen.",
        "Linda Shaw",
        "602-555-0175",
        "lshaw@example.com",
        ("zillow",),
        days_ago=5,
    ),
    Sample(
        "n16th",
        "3201 N 16th St",
        "Phoenix",
        "AZ",
        "85016",
        "CONDO",
        289_000,
        2,
        2.0,
        1050,
        1984,
        "Central Phoenix condo near the light rail",
        "Ground-floor condo, two bedrooms, two baths, patio, community pool. Walk to light rail.",
        "Omar Haddad",
        "602-555-0179",
        None,
        ("zillow",),
        days_ago=11,
        unit="Unit 12",
    ),
    Sample(
        "mclendon",
        "1530 McLendon Ave NE",
        "Atlanta",
        "GA",
        "30307",
        "SINGLE_FAMILY",
        615_000,
        3,
        2.0,
        1780,
        1925,
        "Candler Park craftsman bungalow",
        "1925 craftsman with wraparound porch, 3 bed 2 bath, finished attic office, walk to Little Five "
        "Points.",
        "Beth Moore",
        "404-555-0181",
        "beth.moore@example.com",
        ("fsbo",),
        days_ago=6,
    ),
    Sample(
        "edgewood",
        "512 Edgewood Ave SE",
        "Atlanta",
        "GA",
        "30312",
        "TOWNHOUSE",
        449_000,
        2,
        2.5,
        1500,
        2018,
        "Old Fourth Ward townhome on the BeltLine",
        "Modern townhome one block from the Eastside BeltLine trail, 2 bedrooms plus loft, 2.5 baths.",
        "Chris Young",
        "404-555-0184",
        None,
        ("fsbo",),
        days_ago=3,
    ),
    Sample(
        "williams",
        "2836 Williams St",
        "Denver",
        "CO",
        "80205",
        "SINGLE_FAMILY",
        699_000,
        3,
        2.0,
        1900,
        1890,
        "Victorian in Whittier, mountain views",
        "1890 brick Victorian, restored woodwork, 3 bed 2 bath, two-car garage off the alley.",
        "Hank Miller",
        "303-555-0186",
        "hank.miller@example.com",
        ("craigslist",),
        days_ago=2,
        extra={"hood": "Whittier"},
    ),
    Sample(
        "josephine",
        "1250 Josephine St",
        "Denver",
        "CO",
        "80206",
        "MULTI_FAMILY",
        975_000,
        4,
        4.0,
        2800,
        1910,
        "Congress Park duplex, both units rented",
        "Up/down duplex, two 2-bed units, separate meters, off-street parking. Cap rate about 5%.",
        "Jill Evans",
        "720-555-0188",
        None,
        ("craigslist",),
        days_ago=7,
        extra={"hood": "Congress Park"},
    ),
    Sample(
        "virginia",
        "3215 Virginia St",
        "Miami",
        "FL",
        "33133",
        "SINGLE_FAMILY",
        1_200_000,
        3,
        2.0,
        1800,
        1955,
        "Coconut Grove home under the oaks",
        "Key-West style home in the Grove on a lush lot, 3 bed 2 bath, impact windows, new roof.",
        "Sofia Ramirez",
        "305-555-0190",
        "sofia.r@example.com",
        ("fsbo",),
        days_ago=4,
        extra={"fsbo_price": "$1.2M"},
    ),
    Sample(
        "brickell",
        "1450 Brickell Bay Dr",
        "Miami",
        "FL",
        "33131",
        "CONDO",
        575_000,
        2,
        2.0,
        1200,
        2007,
        "Brickell bay-view condo",
        "Two bedroom condo with bay views, resort amenities, valet. Owner moving abroad, priced to sell.",
        "Diego Alvarez",
        "305-555-0193",
        None,
        ("fsbo",),
        days_ago=9,
        unit="Apt 1907",
    ),
    Sample(
        "dilworth",
        "1813 Dilworth Rd E",
        "Charlotte",
        "NC",
        "28203",
        "SINGLE_FAMILY",
        895_000,
        4,
        3.0,
        2600,
        1930,
        "Dilworth colonial near Freedom Park",
        "Classic 1930 colonial, 4 bed 3 bath, screened porch, walk to Freedom Park and East Blvd.",
        "Ann Foster",
        "704-555-0195",
        "ann.foster@example.com",
        ("fsbo",),
        days_ago=2,
    ),
    Sample(
        "cleveland",
        "2235 N Cleveland Ave",
        "Chicago",
        "IL",
        "60614",
        "SINGLE_FAMILY",
        1_350_000,
        4,
        3.5,
        3100,
        1890,
        "Lincoln Park single-family on a double lot",
        "Greystone single family in Lincoln Park, 4 bed 3.5 bath, garden, two-car garage.",
        "Mark Wilson",
        "312-555-0172",
        None,
        ("facebook",),
        days_ago=5,
    ),
    Sample(
        "clark",
        "1920 N Clark St",
        "Chicago",
        "IL",
        "60614",
        "CONDO",
        389_000,
        2,
        1.0,
        950,
        1962,
        "Lincoln Park condo across from the zoo",
        "Sunny 2 bed 1 bath with lake glimpses, doorman building, assessments include heat.",
        "Julia Stone",
        "312-555-0177",
        None,
        ("facebook",),
        days_ago=1,
        unit="Apt 5B",
    ),
    Sample(
        "wallingford",
        "4012 Wallingford Ave N",
        "Seattle",
        "WA",
        "98103",
        "SINGLE_FAMILY",
        985_000,
        3,
        2.0,
        1750,
        1912,
        "Wallingford craftsman with basement ADU",
        "1912 craftsman, 3 bed 2 bath plus permitted basement ADU. Near Gas Works Park.",
        "Eric Jensen",
        "206-555-0183",
        None,
        ("facebook",),
        days_ago=3,
    ),
    Sample(
        "linden",
        "3611 Linden Ave N",
        "Seattle",
        "WA",
        "98103",
        "TOWNHOUSE",
        749_000,
        3,
        2.5,
        1480,
        2016,
        "Fremont townhouse with view deck",
        "Built-green townhouse, 3 bed 2.5 bath, rooftop deck with Lake Union views.",
        "Mia Larsen",
        "206-555-0187",
        None,
        ("facebook",),
        days_ago=6,
    ),
]


def samples_for(source: str, samples: Iterable[Sample] | None = None) -> dict[str, list[Sample]]:
    """The samples (default: the shipped ones) of one source, grouped by region slug."""
    grouped: dict[str, list[Sample]] = {}
    for s in SAMPLES if samples is None else samples:
        if source in s.sources:
            grouped.setdefault(s.region, []).append(s)
    return grouped


REGION_SLUGS = {
    "Dallas": "dallas-tx",
    "Austin": "austin-tx",
    "Houston": "houston-tx",
    "Phoenix": "phoenix-az",
    "Atlanta": "atlanta-ga",
    "Denver": "denver-co",
    "Miami": "miami-fl",
    "Charlotte": "charlotte-nc",
    "Chicago": "chicago-il",
    "Seattle": "seattle-wa",
}
FSBO_PATHS = {
    "Dallas": "TX/Dallas",
    "Austin": "TX/Austin",
    "Houston": "TX/Houston",
    "Phoenix": "AZ/Phoenix",
    "Atlanta": "GA/Atlanta",
    "Denver": "CO/Denver",
    "Miami": "FL/Miami",
    "Charlotte": "NC/Charlotte",
    "Chicago": "IL/Chicago",
    "Seattle": "WA/Seattle",
}


def craigslist_slug(s: Sample) -> str:
    """The title slug in a posting URL."""
    return "".join(c if c.isalnum() else "-" for c in s.title.lower())[:40].strip("-")


def zillow_detail_path(s: Sample) -> str:
    """/homedetails/<address slug>/<zpid>_zpid/."""
    slug = f"{s.street}-{s.city}-{s.state}-{s.zip}".replace(" ", "-")
    return f"/homedetails/{slug}/{s.ident('zillow')}_zpid/"


def site_pages(samples: Iterable[Sample] | None = None, per_page: int = 3) -> dict[str, dict[str, str]]:
    """Every page of every source's site, keyed by source then URL path (with query string).

    Each source is served as its own site (its own host:port), with the same paths as the real site;
    Craigslist's per-metro subdomains become a /<region> path prefix.
    """
    chosen = list(SAMPLES if samples is None else samples)
    sites: dict[str, dict[str, str]] = {"zillow": {}, "craigslist": {}, "fsbo": {}, "facebook": {}}

    def chunked(items: list[Sample]) -> list[list[Sample]]:
        return [items[i : i + per_page] for i in range(0, len(items), per_page)]

    pages = sites["zillow"]
    for items in samples_for("zillow", chosen).values():
        slug = REGION_SLUGS[items[0].city]
        chunks = chunked(items)
        for n, chunk in enumerate(chunks, start=1):
            path = f"/{slug}/fsbo/" + ("" if n == 1 else f"{n}_p/")
            nxt = f"/{slug}/fsbo/{n + 1}_p/" if n < len(chunks) else None
            pages[path] = zillow_search_page(chunk, slug, n, len(chunks), nxt)
        for s in items:
            pages[zillow_detail_path(s)] = zillow_detail_page(s)
    pages = sites["craigslist"]
    for region, items in samples_for("craigslist", chosen).items():
        chunks = chunked(items)
        for n, chunk in enumerate(chunks, start=1):
            query = "purveyor=owner" + ("" if n == 1 else f"&s={(n - 1) * 120}")
            nxt = f"/{region}/search/rea?purveyor=owner&s={n * 120}" if n < len(chunks) else None
            pages[f"/{region}/search/rea?{query}"] = craigslist_search_page(chunk, region, nxt)
        for s in items:
            pages[f"/{region}/reo/d/{craigslist_slug(s)}/{s.ident('craigslist')}.html"] = (
                craigslist_posting_page(s, region)
            )
    pages = sites["fsbo"]
    for items in samples_for("fsbo", chosen).values():
        path = FSBO_PATHS[items[0].city]
        chunks = chunked(items)
        for n, chunk in enumerate(chunks, start=1):
            key = f"/listings/search/results/{path}/" + ("" if n == 1 else f"?page={n}")
            nxt = f"?page={n + 1}" if n < len(chunks) else None
            pages[key] = fsbo_search_page(chunk, nxt)
        for s in items:
            pages[f"/listings/listings/show/id/{s.ident('fsbo')}/"] = fsbo_listing_page(s)
    pages = sites["facebook"]
    for region, items in samples_for("facebook", chosen).items():
        chunks = chunked(items)
        for n, chunk in enumerate(chunks, start=1):
            cursor = f"c{n + 1}" if n < len(chunks) else None
            key = f"/marketplace/{region}/propertyforsale/" + ("" if n == 1 else f"?cursor=c{n}")
            pages[key] = facebook_search_page(chunk, cursor)
        for s in items:
            pages[f"/marketplace/item/{s.ident('facebook')}/"] = facebook_item_page(s)
    return sites


def _file_name(source: str, path: str) -> str:
    path, _, query = path.partition("?")
    name = path.strip("/") or "index"
    if path.endswith("/"):
        name += "/index"
    if query:
        name += "__" + query.replace("&", "_").replace("=", "-")
    return f"{source}/{name.removesuffix('.html')}.html"


def write_samples(target: Path = SAMPLES_DIR) -> dict[str, dict[str, str]]:
    """Write every page under target/<source>/ and manifest.json (source → URL path → file)."""
    manifest: dict[str, dict[str, str]] = {}
    for source, pages in site_pages().items():
        manifest[source] = {}
        for path, body in sorted(pages.items()):
            name = _file_name(source, path)
            file = target / name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(body, encoding="utf-8")
            manifest[source][path] = name
    regions = {src: sorted(samples_for(src)) for src in manifest}
    document = {"pages": manifest, "regions": regions}
    (target / "manifest.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return manifest


def with_changes(sample: Sample, **changes: Any) -> Sample:
    """A copy of a sample with some fields changed (tests build variants this way)."""
    return replace(sample, **changes)


if __name__ == "__main__":
    written = write_samples()
    print(f"wrote {sum(len(p) for p in written.values())} sample pages under {SAMPLES_DIR}")
