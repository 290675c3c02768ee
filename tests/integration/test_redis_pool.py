"""A process's Redis client: under a burst, more concurrent commands than its pool
has connections wait for one instead of failing; its connections pack commands
(through hiredis) exactly as redis-py does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from taskflow.redis_connection import BIG_VALUE, TcpConnection
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


PACKED = [
    ("SET", "k", "héllo"),
    ("FCALL", "complete_and_claim", 1, "{tf}:x", 2, "id-1", "tok-1", "ok", b"\xff\x00", -5, 0.1),
    ("CONFIG GET", "appendonly"),
    (b"CLIENT SETNAME", b"x"),
    ("SET", "big", b"x" * (BIG_VALUE + 1)),
    ("SET", "f", 1e-7, 2**70, 3.141592653589793),
]


def test_the_services_connections_pack_commands_as_redis_py() -> None:
    """hiredis packs the commands (taskflow/redis_connection.py): byte for byte what
    redis-py writes, and redis-py's errors for what it cannot send."""
    ours, theirs = TcpConnection(), Connection()
    for command in PACKED:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))
    for bad in (None, True, [1]):
        with pytest.raises(DataError):
            ours.pack_command("SET", "k", bad)


async def test_every_kind_of_value_round_trips_through_the_services_client(
    redis_url: str,
) -> None:
    client = redis_client(redis_url)
    try:
        values: list[Any] = ["héllo", b"\xff\x00", -5, 0.5, b"y" * (BIG_VALUE + 1), ""]
        for i, value in enumerate(values):
            await client.set(f"v:{i}", value)
        stored = await client.mget([f"v:{i}" for i in range(len(values))])
        expected = [v if isinstance(v, bytes) else str(v).encode() for v in values]
        assert stored == expected
        assert "appendonly" in await client.config_get("appendonly")  # "CONFIG GET": two words
    finally:
        await client.aclose()
