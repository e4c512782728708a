"""The domain core: the facts every area shares, below all of them. It imports no area; areas import it
(enforced by .importlinter).

- ``lead``: the lead row, its sources, raw listings, price history, its server defaults and the one
  column set the search index reads; ``user``: the account row (tier, paid period, balance);
- ``seats``: hold and purchase rows and the seat rules (availability, seats left for a viewer);
- ``plans``: tiers and the tier discount; ``vocabulary``: property types, sources, statuses;
- ``geo``: PostGIS points, the one haversine, METERS_PER_MILE; ``phones``: contact normal forms;
- ``listings``: the records scrapers, cleaning and ingestion exchange; ``schedule``: the scrape
  schedule's syntax and cron matching (settings check it; the worker runs it);
- ``filters``: the lead filter specification, its validation, cursors and Python predicate;
- ``visibility``: what a viewer may see of a lead, which node types, and at what price.
"""
