"""Where a process gets its Redis: REDIS_URL, or the bundled server started for it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from taskflow.redis_server import BundledRedis
from taskflow.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def redis_url_for(settings: Settings) -> Iterator[str]:
    """Yield the Redis URL to use; without REDIS_URL, run the bundled server meanwhile."""
    if settings.redis_url:
        yield settings.redis_url
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


def redis_client(url: str, *, cluster: bool = False) -> Redis:
    """An asyncio client; bytes in and out, so binary payloads survive.

    With `cluster`, a Redis Cluster client that follows the cluster's slot map from
    any node in `url`; every key of one deployment shares the hash tag of its key
    prefix, so each Lua script's keys live on one node.
    """
    if cluster:
        # RedisCluster serves the same commands the store uses, slot-routed.
        return cast(Redis, RedisCluster.from_url(url, socket_keepalive=True))
    return Redis.from_url(url, health_check_interval=30, socket_keepalive=True)


def client_for(settings: Settings, url: str) -> Redis:
    """The client a service uses for `url`, as the settings configure it."""
    return redis_client(url, cluster=settings.redis_cluster)
