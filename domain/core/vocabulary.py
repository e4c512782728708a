"""The closed vocabularies of the marketplace (database check constraints and GraphQL enums agree)."""

from __future__ import annotations

PROPERTY_TYPES = ("SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY", "LAND", "MANUFACTURED", "OTHER")
LEAD_SOURCES = ("ZILLOW", "CRAIGSLIST", "FSBO", "FACEBOOK")
LEAD_STATUSES = ("AVAILABLE", "SOLD_OUT", "WITHDRAWN")
