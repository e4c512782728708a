"""search area."""
