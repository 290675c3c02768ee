"""The monitor process: MonitorService over gRPC, one event subscription shared."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from services.monitor.hub import WatchHub
from services.monitor.metrics import MonitorMetrics
from services.monitor.servicer import MonitorServicer
from taskflow.metrics_http import exposed
from taskflow.provider.status import build_provider_status
from taskflow.rpc.server import ServiceServer
from taskflow.rpc.tls import server_credentials
from taskflow.settings import Settings
from taskflow.store import StoreConfig, TaskStore
from taskflow.store.breaker import BreakerConfig, CircuitBreakerStore
from taskflow.v1 import monitor_service_pb2, monitor_service_pb2_grpc

SERVICE_NAME = monitor_service_pb2.DESCRIPTOR.services_by_name["MonitorService"].full_name
# Streams never finish on their own: give them a moment, then cut them.
STOP_GRACE_S = 1.0
# A worker missing this many heartbeats in a row is stale (and never sooner than
# MIN_STALE_AFTER_S, so a briefly busy worker with a fast heartbeat is not).
STALE_AFTER_BEATS = 3
MIN_STALE_AFTER_S = 1.0


@contextlib.asynccontextmanager
async def running_monitor(
    settings: Settings, client: Redis, *, hub: WatchHub | None = None
) -> AsyncIterator[ServiceServer]:
    """MonitorService serving on `settings.monitor_address` until the block ends."""
    store = TaskStore(client, StoreConfig.from_settings(settings))
    hub = hub or WatchHub(client, store.keys)
    provider = build_provider_status(settings, client)
    breakers = CircuitBreakerStore(
        client, BreakerConfig.from_settings(settings), settings.key_prefix
    )
    servicer = MonitorServicer(
        store,
        hub,
        breakers,
        provider,
        stale_after_s=max(STALE_AFTER_BEATS * settings.heartbeat_seconds, MIN_STALE_AFTER_S),
    )
    server = ServiceServer(
        settings.monitor_address,
        api_token=settings.api_token,
        credentials=server_credentials(settings),
    )
    server.add(
        monitor_service_pb2_grpc.add_MonitorServiceServicer_to_server, servicer, SERVICE_NAME
    )
    metrics = MonitorMetrics(hub)
    stop_metrics = asyncio.Event()
    ages = asyncio.create_task(
        metrics.follow_store(
            store, servicer.current_workers, settings.heartbeat_seconds, stop_metrics
        ),
        name="metrics-refresh",
    )
    await server.start()
    try:
        with exposed(
            metrics.registry, settings.metrics_host, settings.monitor_metrics_port, "monitor"
        ):
            yield server
    finally:
        stop_metrics.set()
        await server.stop(STOP_GRACE_S)
        await ages
        await hub.close()
        await provider.aclose()


async def serve(settings: Settings, client: Redis, stop: asyncio.Event) -> None:
    async with running_monitor(settings, client):
        await stop.wait()
