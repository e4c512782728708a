"""Sample pages of the four sources (shipped data for the demo, tests and the benchmark)."""
