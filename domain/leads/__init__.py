"""leads area."""
