"""The closed vocabularies of the marketplace (database check constraints and GraphQL enums agree)."""

from __future__ import annotations

PROPERTY_TYPES = ("SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY", "LAND", "MANUFACTURED", "OTHER")
LEAD_SOURCES = ("ZILLOW", "CRAIGSLIST", "FSBO", "FACEBOOK")
LEAD_STATUSES = ("AVAILABLE", "SOLD_OUT", "WITHDRAWN", "EXPIRED")
# off the market for good: WITHDRAWN by an operator, EXPIRED by the scrape schedule (listing gone or too
# old); buyers keep what they bought, and nobody else can find, hold or buy the lead
RETIRED_STATUSES = ("WITHDRAWN", "EXPIRED")
