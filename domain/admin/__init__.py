"""Operator (admin) operations: withdraw a lead, change its seats, replay dead letters, run a
scrape, adjust credits, and the audit log every one of them writes."""
