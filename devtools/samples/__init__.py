"""Sample pages for the four sources, in each site's real page structure.

The data set (``data/samples.json``) holds the sample properties; one module per source renders them
as that site does (``zillow``, ``craigslist``, ``fsbo``, ``facebook``); ``site`` lays out every page of
every site; ``build`` writes the shipped pages (``pages/`` and its manifest) that ``aiqleads seed
--demo`` serves from a loopback HTTP server to the real scrapers. Tests and the benchmark use the same
render functions to build variants (broken markup, injection, many listings).
"""

from __future__ import annotations

from aiqleads_dev.samples.craigslist import craigslist_posting_page, craigslist_search_page, craigslist_slug
from aiqleads_dev.samples.dataset import SAMPLES, load_samples, samples_for
from aiqleads_dev.samples.facebook import facebook_item_page, facebook_node, facebook_search_page
from aiqleads_dev.samples.fsbo import fsbo_listing_page, fsbo_search_page
from aiqleads_dev.samples.model import ANCHOR, TYPE_LABELS, Sample, with_changes
from aiqleads_dev.samples.shipped import PAGES_DIR, load_shipped_sites
from aiqleads_dev.samples.site import FSBO_PATHS, REGION_SLUGS, site_pages
from aiqleads_dev.samples.zillow import (
    zillow_detail_page,
    zillow_detail_path,
    zillow_result,
    zillow_search_page,
)

__all__ = [
    "ANCHOR",
    "FSBO_PATHS",
    "PAGES_DIR",
    "REGION_SLUGS",
    "SAMPLES",
    "TYPE_LABELS",
    "Sample",
    "craigslist_posting_page",
    "craigslist_search_page",
    "craigslist_slug",
    "facebook_item_page",
    "facebook_node",
    "facebook_search_page",
    "fsbo_listing_page",
    "fsbo_search_page",
    "load_samples",
    "load_shipped_sites",
    "samples_for",
    "site_pages",
    "with_changes",
    "zillow_detail_page",
    "zillow_detail_path",
    "zillow_result",
    "zillow_search_page",
]
