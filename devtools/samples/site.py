"""Every page of the four sites for a set of samples, keyed by source then URL path."""

from __future__ import annotations

from collections.abc import Iterable

from aiqleads_dev.samples.craigslist import craigslist_posting_page, craigslist_search_page, craigslist_slug
from aiqleads_dev.samples.dataset import SAMPLES, samples_for
from aiqleads_dev.samples.facebook import facebook_item_page, facebook_search_page
from aiqleads_dev.samples.fsbo import fsbo_listing_page, fsbo_search_page
from aiqleads_dev.samples.model import Sample
from aiqleads_dev.samples.zillow import zillow_detail_page, zillow_detail_path, zillow_search_page

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
