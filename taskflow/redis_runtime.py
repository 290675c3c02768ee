"""Where a process gets its Redis: REDIS_URL, or the bundled server started for it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis

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


def redis_client(url: str) -> Redis:
    """An asyncio client; bytes in and out, so binary payloads survive."""
    return Redis.from_url(url, health_check_interval=30, socket_keepalive=True)
