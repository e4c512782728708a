"""Scrapers: one parser module per source, a polite fetcher, and the scrape runner."""
