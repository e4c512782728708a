"""Development tooling: local services, seeding, the demo site and its data (never imported at run time)."""
