"""AsyncTaskFlow: code shared by every service (settings, errors, the Redis store)."""
