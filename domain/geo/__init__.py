"""geo area."""
