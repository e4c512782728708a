"""What operators watch: business gauges read from PostgreSQL and the credit ledger's invariant."""
