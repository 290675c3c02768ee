"""Running one service as a process of its own (`taskflow scheduler`, compose, k8s).

A standalone service needs REDIS_URL: only `taskflow up` starts the bundled
server, because two services each starting one would not share state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from taskflow.gc_tuning import freeze_startup_heap
from taskflow.logs import configure_logging
from taskflow.redis_runtime import connected
from taskflow.rpc.server import stop_on_signals
from taskflow.settings import Settings

Serve = Callable[[Settings, Redis, asyncio.Event], Awaitable[None]]
log = logging.getLogger(__name__)


def run_service(name: str, serve: Serve, settings: Settings | None = None) -> None:
    """Run `serve` until SIGTERM/SIGINT, then let it shut down gracefully."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.secret_values())
    if not (settings.redis_url or settings.redis_sentinels):
        raise SystemExit(
            f"{name}: set REDIS_URL or REDIS_SENTINELS (or run the whole system with `taskflow up`)"
        )
    freeze_startup_heap()
    asyncio.run(_serve(name, serve, settings, settings.redis_url or ""))


async def _serve(name: str, serve: Serve, settings: Settings, url: str) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with connected(settings, url) as client:
        await serve(settings, client, stop)
    log.info("event=service_stopped service=%s", name)
