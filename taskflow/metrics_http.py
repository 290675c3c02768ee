"""Serving one process's Prometheus registry over HTTP (`/metrics` on a port of its
own), for the services that have no web server: scheduler, executor, monitor; and
refreshing gauges that mirror state in Redis (a scrape cannot await it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, start_http_server

from taskflow.aio import sleep_unless

log = logging.getLogger(__name__)


@contextlib.contextmanager
def exposed(registry: CollectorRegistry, host: str, port: int, service: str) -> Iterator[int]:
    """Serve `registry` on host:port while the block runs; yields the port served
    (0: not served, because `port` is 0 or taken: a service without metrics still
    does its work, so that is an error in the log, not a crash)."""
    if not port:
        yield 0
        return
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        log.error("event=metrics_not_served service=%s port=%d error=%r", service, port, str(error))
        yield 0
        return
    log.info("event=metrics_served service=%s address=%s:%d", service, host, port)
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def refresh_every(
    refresh: Callable[[], Awaitable[None]], every_s: float, stop: asyncio.Event
) -> None:
    """Run `refresh` now and every `every_s` until `stop`; a failed refresh (Redis
    away) is a warning, and the gauges keep their last values."""
    while True:
        try:
            await refresh()
        except Exception as error:
            log.warning("event=metrics_refresh_failed error=%r", str(error))
        if await sleep_unless(stop, every_s):
            return
