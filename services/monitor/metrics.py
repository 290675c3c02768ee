"""The monitor's Prometheus metrics: the live watches it serves, how long the task
next out of each pending queue has waited, and the workers by health (the last two
read from the store every few seconds, since a scrape cannot await Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge

from services.monitor.hub import WatchHub
from services.monitor.workers import WorkersView
from taskflow.metrics_http import refresh_every
from taskflow.store import TaskStore


class MonitorMetrics:
    """One registry per monitor (several can share a test process)."""

    def __init__(self, hub: WatchHub) -> None:
        self.registry = CollectorRegistry()
        self.watchers = Gauge(
            "taskflow_monitor_watchers",
            "Open WatchQueues and WatchTask streams",
            registry=self.registry,
        )
        self.watchers.set_function(lambda: hub.watchers)
        self.queue_age = Gauge(
            "taskflow_queue_oldest_age_seconds",
            "How long the oldest task of a pending queue has waited (0: empty)",
            ["queue"],
            registry=self.registry,
        )
        self.workers = Gauge(
            "taskflow_workers",
            "Workers seen lately, by health (healthy: heartbeat younger than the stale limit)",
            ["health"],
            registry=self.registry,
        )

    async def follow_store(
        self,
        store: TaskStore,
        read_workers: Callable[[], Awaitable[WorkersView]],
        every_s: float,
        stop: asyncio.Event,
    ) -> None:
        async def refresh() -> None:
            now = datetime.now(UTC)
            for queue, since in (await store.waiting_since()).items():
                age = (now - since).total_seconds() if since else 0.0
                self.queue_age.labels(queue=queue.value).set(max(age, 0.0))
            view = await read_workers()
            self.workers.labels(health="healthy").set(view.healthy_count)
            self.workers.labels(health="stale").set(view.stale_count)

        await refresh_every(refresh, every_s, stop)
