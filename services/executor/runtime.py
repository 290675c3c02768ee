"""One worker process: a Worker, the pause flag it follows, and the task services."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from services.executor.metrics import ExecutorMetrics, follow_shared_state
from services.executor.pause import PauseFollower
from services.executor.worker import Worker, WorkerConfig
from taskflow.metrics_http import exposed
from taskflow.settings import Settings
from taskflow.store import StoreConfig, TaskStore
from taskflow.store.breaker import BreakerConfig, CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.limits import LimitStore
from taskflow.store.rate_limit import RateLimiter
from taskflow.tasks import load_task_modules
from taskflow.tasks.registry import declared_limits
from taskflow.tasks.services import build_task_services, close_task_services


def worker_config(settings: Settings, executor_id: str) -> WorkerConfig:
    return WorkerConfig(
        concurrency=settings.worker_concurrency,
        task_time_limit_s=settings.task_time_limit,
        heartbeat_s=settings.heartbeat_seconds,
        shutdown_grace_s=settings.shutdown_grace_seconds,
        executor_id=executor_id,
        retry_delay_scale=settings.retry_delay_scale,
        queues=settings.queue_weights,
    )


async def run_worker(
    settings: Settings, client: Redis, executor_id: str, stop: asyncio.Event, metrics_port: int = 0
) -> None:
    """Claim and run tasks until `stop`, then drain and hand back (see Worker.run);
    serve this process's metrics on `metrics_port` meanwhile (0: not served)."""
    load_task_modules(settings.task_modules)
    store = TaskStore(client, StoreConfig.from_settings(settings))
    # The types run here say their limits, so every claim in the cluster enforces
    # them (declared before the first claim, then again with each heartbeat).
    limits = LimitStore(client, settings.key_prefix)
    source = f"executor {executor_id}"
    await limits.declare(declared_limits(), source)
    control = ExecutorControl(client, store.keys)
    pause = PauseFollower(control)
    await pause.refresh()
    services = await build_task_services(settings, client)
    metrics = ExecutorMetrics()
    worker = Worker(
        store,
        worker_config(settings, executor_id),
        is_paused=pause,
        services=services,
        metrics=metrics,
    )
    breakers = CircuitBreakerStore(
        client, BreakerConfig.from_settings(settings), settings.key_prefix
    )
    gauges = follow_shared_state(
        metrics, breakers, RateLimiter(client, settings.key_prefix), control,
        settings.heartbeat_seconds, stop,
    )  # fmt: skip
    background = [
        asyncio.create_task(pause.run(stop), name="pause-follower"),
        asyncio.create_task(gauges, name="metrics-gauges"),
        asyncio.create_task(
            limits.keep_declared(declared_limits(), source, settings.heartbeat_seconds, stop),
            name="limits-declared",
        ),
    ]
    try:
        with exposed(metrics.registry, settings.metrics_host, metrics_port, "executor"):
            await worker.run(stop)
    finally:
        await asyncio.gather(*background)
        await close_task_services(services)
