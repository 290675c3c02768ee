"""Wiping a deployment's data (`taskflow reset --confirm`): every key it owns, nothing else."""

from __future__ import annotations

from redis.asyncio import Redis

from taskflow.store.keys import Keys

_BATCH = 500


async def reset_all(client: Redis, keys: Keys) -> int:
    """Delete every AsyncTaskFlow key under `keys.prefix`; returns how many went.

    Not atomic: run it with the services stopped (or accept that work in flight
    right now may leave a key or two behind)."""
    deleted = 0
    for family in Keys.FAMILIES:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=keys.pattern(family), count=_BATCH):
            batch.append(key)
            if len(batch) >= _BATCH:
                deleted += await client.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await client.unlink(*batch)
    return deleted
