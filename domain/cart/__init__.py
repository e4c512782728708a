"""cart area."""
