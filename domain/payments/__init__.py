"""Payment providers behind credit-pack purchases."""
