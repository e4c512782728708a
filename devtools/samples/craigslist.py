"""Craigslist pages: static search results with JSON-LD, and posting pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiqleads_dev.samples.model import TYPE_LABELS, E, Sample, money, script_json


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
            f'<div class="details"><div class="price">{money(s.price)}</div>'
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
        f'<script type="application/ld+json" id="ld_searchpage_results">{script_json(ld)}</script>'
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
        f'<script type="application/ld+json" id="ld_posting_data">{script_json(ld)}</script></head><body>'
        '<section class="body"><h1 class="postingtitle"><span class="postingtitletext">'
        f'<span id="titletextonly">{E(s.title)}</span> - <span class="price">{money(s.price)}</span>'
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


def craigslist_slug(s: Sample) -> str:
    """The title slug in a posting URL."""
    return "".join(c if c.isalnum() else "-" for c in s.title.lower())[:40].strip("-")
