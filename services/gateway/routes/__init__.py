"""The REST routes, one module per area of contract §4."""
