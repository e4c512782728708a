"""pricing area."""
