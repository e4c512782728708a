"""FSBO.com pages: listing cards and listing pages with schema.org microdata."""

from __future__ import annotations

from collections.abc import Iterable

from aiqleads_dev.samples.model import TYPE_LABELS, E, Sample, money


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
            f'<div class="listing-price">{E(s.extra.get("fsbo_price", money(s.price)))}</div>'
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
        f'<div class="price" itemprop="price">{E(s.extra.get("fsbo_price", money(s.price)))}</div>'
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
