"""credits area."""
