"""One worker process: a Worker, the pause flag it follows, and the task services."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from services.executor.pause import PauseFollower
from services.executor.worker import Worker, WorkerConfig
from taskflow.settings import Settings
from taskflow.store import StoreConfig, TaskStore
from taskflow.store.control import ExecutorControl
from taskflow.tasks import load_task_modules
from taskflow.tasks.services import build_task_services, close_task_services


def worker_config(settings: Settings, executor_id: str) -> WorkerConfig:
    return WorkerConfig(
        concurrency=settings.worker_concurrency,
        task_time_limit_s=settings.task_time_limit,
        heartbeat_s=settings.heartbeat_seconds,
        shutdown_grace_s=settings.shutdown_grace_seconds,
        executor_id=executor_id,
        retry_delay_scale=settings.retry_delay_scale,
    )


async def run_worker(
    settings: Settings, client: Redis, executor_id: str, stop: asyncio.Event
) -> None:
    """Claim and run tasks until `stop`, then drain and hand back (see Worker.run)."""
    load_task_modules(settings.task_modules)
    store = TaskStore(client, StoreConfig.from_settings(settings))
    pause = PauseFollower(ExecutorControl(client, store.keys))
    services = await build_task_services(settings, client)
    worker = Worker(store, worker_config(settings, executor_id), is_paused=pause, services=services)
    follower = asyncio.create_task(pause.run(stop), name="pause-follower")
    try:
        await worker.run(stop)
    finally:
        await follower
        await close_task_services(services)
