"""ingest area."""
