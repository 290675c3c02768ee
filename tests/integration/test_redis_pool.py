"""A process's Redis client under a burst: more concurrent commands than its pool
has connections wait for one instead of failing."""

from __future__ import annotations

import asyncio

from taskflow.redis_runtime import POOL_MAX_CONNECTIONS, redis_client


async def test_a_burst_beyond_the_pool_waits_for_connections(redis_url: str) -> None:
    client = redis_client(redis_url)
    try:
        burst = 3 * POOL_MAX_CONNECTIONS
        # Each BLPOP holds its connection for its whole timeout, so the burst needs
        # three times the pool at once; the default pool refused the 101st.
        replies = await asyncio.gather(
            *(client.blpop([f"empty:{i}"], timeout=0.2) for i in range(burst))
        )
        assert replies == [None] * burst
        assert client.connection_pool.max_connections == POOL_MAX_CONNECTIONS
    finally:
        await client.aclose()
