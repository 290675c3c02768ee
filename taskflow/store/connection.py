"""The process's own Redis connection: a timed PING and its connection pool's
figures (for /api/v1/redis/health and /pool-stats, served by the monitor)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

# Connection classes of redis-py by what they connect over.
CONNECTION_TYPES = {
    "Connection": "tcp",
    "SSLConnection": "tls",
    "TcpConnection": "tcp",  # taskflow/redis_connection.py
    "TlsConnection": "tls",
    "UnixDomainSocketConnection": "unix",
    "SentinelManagedConnection": "sentinel",
    "SentinelManagedSSLConnection": "sentinel",
}


@dataclass(frozen=True)
class Ping:
    connected: bool
    response_time_ms: float
    error: str


@dataclass(frozen=True)
class PoolStats:
    available: bool  # False: no single pool (a Redis Cluster client has one per node)
    max_connections: int
    idle: int
    in_use: int
    connection_type: str


async def ping(client: Redis) -> Ping:
    started = time.perf_counter()
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        elapsed = (time.perf_counter() - started) * 1000
        return Ping(False, round(elapsed, 3), type(error).__name__)
    return Ping(True, round((time.perf_counter() - started) * 1000, 3), "")


def pool_stats(client: Redis) -> PoolStats:
    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return PoolStats(False, 0, 0, 0, "cluster")
    (idle, _), (in_use, _) = pool.get_connection_count()
    kind = CONNECTION_TYPES.get(pool.connection_class.__name__, pool.connection_class.__name__)
    return PoolStats(True, pool.max_connections, idle, in_use, kind)
