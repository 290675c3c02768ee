"""Where a process gets its Redis: REDIS_URL, Redis Sentinel, or the bundled server.

Every service makes its client through `connected`, so a deployment's choice of
one server, Sentinel or Cluster (and TLS, and replica acks) holds everywhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection, SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from taskflow.redis_acks import ReplicaAckedRedis
from taskflow.redis_connection import TcpConnection, WaitingPool, direct_send
from taskflow.redis_server import BundledRedis
from taskflow.settings import Settings

log = logging.getLogger(__name__)
# Sentinel-managed connections: a master that vanished without a reset (a host or
# network failure) must not hold a reconnect for minutes.
CONNECT_TIMEOUT_S = 5.0
# A sentinel that does not answer within this is skipped for the next one, at once:
# redis-py would otherwise retry it ten times (about 4 s) before asking another.
SENTINEL_TIMEOUT_S = 1.0
# Connections per process. A burst of calls beyond it waits for a free connection
# (up to POOL_WAIT_S) instead of failing: redis-py's default pool refuses the 101st
# concurrent command with "Too many connections", which reached callers as
# UNAVAILABLE under 300 concurrent GetTask calls.
POOL_MAX_CONNECTIONS = 100
POOL_WAIT_S = 30.0
# redis-py's asyncio default, for a blocking twin whose pool does not say.
SYNC_SOCKET_TIMEOUT_S = 5.0


@contextmanager
def redis_url_for(settings: Settings) -> Iterator[str]:
    """Yield the Redis URL to use; without REDIS_URL or sentinels, run the bundled
    server meanwhile. With sentinels the URL may be empty (Sentinel names the master)."""
    if settings.redis_url or settings.redis_sentinels:
        yield settings.redis_url or ""
        return
    server = BundledRedis(
        settings.redis_data_dir,
        port=settings.redis_port,
        appendfsync=settings.redis_appendfsync,
    )
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def describe_redis(settings: Settings, url: str) -> str:
    """What a person reads to know which Redis is in use (no credentials)."""
    if settings.redis_sentinels:
        sentinels = ",".join(settings.redis_sentinels)
        return f"sentinel master {settings.redis_sentinel_master!r} via {sentinels}"
    return re.sub(r"//[^@/]*@", "//", url)


def redis_client(
    url: str,
    *,
    cluster: bool = False,
    ca_file: Path | None = None,
    redis_class: type[Redis] = Redis,
) -> Redis:
    """An asyncio client; bytes in and out, so binary payloads survive.

    With `cluster`, a Redis Cluster client that follows the cluster's slot map from
    any node in `url`; every key of one deployment shares the hash tag of its key
    prefix, so each Lua script's keys live on one node. A rediss:// URL speaks TLS,
    verified against `ca_file` when given.
    """
    tls = _tls_options(url, ca_file)
    if cluster:
        # RedisCluster serves the same commands the store uses, slot-routed.
        return cast(Redis, RedisCluster.from_url(url, socket_keepalive=True, **tls))
    pool = WaitingPool.from_url(
        url,
        max_connections=POOL_MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
        health_check_interval=30,
        socket_keepalive=True,
        **tls,
    )
    pool.connection_class = direct_send(pool.connection_class)
    return redis_class.from_pool(pool)  # the client closes the pool with itself


@asynccontextmanager
async def connected(settings: Settings, url: str) -> AsyncIterator[Redis]:
    """The client a service uses for `url`, as the settings configure it; closed,
    with any connections to sentinels, when the block ends."""
    if settings.redis_sentinels:
        async with _sentinel_master(settings, url) as client:
            yield client
        return
    client = redis_client(
        url,
        cluster=settings.redis_cluster,
        ca_file=settings.redis_tls_ca_file,
        redis_class=_client_class(settings),
    )
    _want_acks(client, settings)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def _sentinel_master(settings: Settings, url: str) -> AsyncIterator[Redis]:
    """A client of whichever server the sentinels name master right now.

    Each new connection asks the sentinels first, and a connection to a demoted
    master is dropped on its first READONLY reply, so after a failover the client
    reaches the promoted replica by itself (pub/sub included).
    """
    master_options = _master_options(url, settings.redis_tls_ca_file)
    sentinel_options: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT_S,
        "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.redis_sentinel_password:
        sentinel_options["password"] = settings.redis_sentinel_password.get_secret_value()
    if master_options.get("ssl"):
        # Sentinels of a TLS deployment speak TLS too, signed by the same CA.
        sentinel_options.update({k: v for k, v in master_options.items() if k.startswith("ssl")})
    sentinel = Sentinel(settings.sentinel_addresses, sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(
        settings.redis_sentinel_master,
        redis_class=_client_class(settings),
        health_check_interval=30,
        socket_keepalive=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        **master_options,
    )
    _want_acks(client, settings)
    log.info(
        "event=redis_sentinel master=%s sentinels=%s",
        settings.redis_sentinel_master, ",".join(settings.redis_sentinels),
    )  # fmt: skip
    try:
        yield client
    finally:
        await client.aclose()
        await sentinel.aclose()


def _master_options(url: str, ca_file: Path | None) -> dict[str, Any]:
    """Connection options REDIS_URL gives the master (credentials, db, TLS); its
    host and port are Sentinel's to say."""
    if not url:
        return {}
    options: dict[str, Any] = dict(parse_url(url))
    for name in ("host", "port", "path"):
        options.pop(name, None)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
        options.update(_tls_options(url, ca_file))
    return options


def _tls_options(url: str, ca_file: Path | None) -> dict[str, Any]:
    if url.startswith("rediss://") and ca_file is not None:
        return {"ssl_ca_certs": str(ca_file)}
    return {}


def _client_class(settings: Settings) -> type[Redis]:
    return ReplicaAckedRedis if settings.redis_replica_acks else Redis


def _want_acks(client: Redis, settings: Settings) -> None:
    if isinstance(client, ReplicaAckedRedis):
        client.replicas = settings.redis_replica_acks
        client.timeout_ms = max(int(settings.redis_replica_ack_timeout * 1000), 1)


def sync_twin(client: Redis) -> redis.Redis | None:
    """A blocking client of the same server, credentials and database as `client`,
    for a service's threads; None unless `client` is the plain kind (`redis_client`
    of a redis:// URL: one server over TCP, no Cluster, Sentinel, TLS or replica
    acks), where its callers keep to the asyncio client."""
    if type(client) is not Redis:
        return None
    pool = client.connection_pool
    if pool.connection_class not in (Connection, TcpConnection):
        return None
    kwargs = pool.connection_kwargs
    return redis.Redis(
        connection_pool=redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
            max_connections=POOL_MAX_CONNECTIONS,
            timeout=POOL_WAIT_S,
            host=kwargs["host"],
            port=kwargs["port"],
            db=kwargs.get("db", 0),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            socket_timeout=kwargs.get("socket_timeout") or SYNC_SOCKET_TIMEOUT_S,
            socket_connect_timeout=kwargs.get("socket_connect_timeout") or CONNECT_TIMEOUT_S,
            socket_keepalive=True,
            health_check_interval=30,
        )
    )
