"""The gRPC services in-process on free loopback ports, with clients for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grpc import aio
from redis.asyncio import Redis

from services.executor.app import serve as serve_executor
from services.monitor.app import running_monitor
from services.scheduler.app import running_scheduler
from taskflow.settings import Settings
from taskflow.v1 import (
    executor_service_pb2_grpc,
    monitor_service_pb2_grpc,
    scheduler_service_pb2_grpc,
)

if TYPE_CHECKING:  # the async stub types exist in the .pyi files only
    from taskflow.v1.executor_service_pb2_grpc import ExecutorServiceAsyncStub
    from taskflow.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub

LOOPBACK_ANY_PORT = "127.0.0.1:0"


def settings_for(redis_url: str, **overrides: Any) -> Settings:
    """Settings for a test: its Redis, free ports, fast heartbeats and retries."""
    values: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "TASKFLOW_SCHEDULER_ADDRESS": LOOPBACK_ANY_PORT,
        "TASKFLOW_EXECUTOR_ADDRESS": LOOPBACK_ANY_PORT,
        "TASKFLOW_MONITOR_ADDRESS": LOOPBACK_ANY_PORT,
        "TASKFLOW_TASK_MODULES": ["tests.support.tasks"],
        "TASKFLOW_HEARTBEAT_SECONDS": 0.2,
        "TASKFLOW_RETRY_DELAY_SCALE": 0.01,
        "TASKFLOW_SHUTDOWN_GRACE": 2,
        # No metrics ports unless a test asks (parallel tests would share the defaults).
        "TASKFLOW_SCHEDULER_METRICS_PORT": 0,
        "TASKFLOW_EXECUTOR_METRICS_PORT": 0,
        "TASKFLOW_MONITOR_METRICS_PORT": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class SchedulerClient:
    channel: aio.Channel
    stub: SchedulerServiceAsyncStub


@contextlib.asynccontextmanager
async def scheduler(settings: Settings, client: Redis) -> AsyncIterator[SchedulerClient]:
    async with (
        running_scheduler(settings, client) as server,
        aio.insecure_channel(server.address) as channel,
    ):
        yield SchedulerClient(channel, scheduler_service_pb2_grpc.SchedulerServiceStub(channel))


@contextlib.asynccontextmanager
async def executor(
    settings: Settings, client: Redis, port: int
) -> AsyncIterator[ExecutorServiceAsyncStub]:
    """An in-process executor listening on `port` (pick one with free_port)."""
    settings = settings.model_copy(update={"executor_address": f"127.0.0.1:{port}"})
    stop = asyncio.Event()
    running = asyncio.create_task(serve_executor(settings, client, stop))
    try:
        async with aio.insecure_channel(settings.executor_address) as channel:
            await channel.channel_ready()
            yield executor_service_pb2_grpc.ExecutorServiceStub(channel)
    finally:
        stop.set()
        await running


@dataclass
class MonitorClient:
    channel: aio.Channel
    stub: MonitorServiceAsyncStub


@contextlib.asynccontextmanager
async def monitor(settings: Settings, client: Redis) -> AsyncIterator[MonitorClient]:
    async with (
        running_monitor(settings, client) as server,
        aio.insecure_channel(server.address) as channel,
    ):
        yield MonitorClient(channel, monitor_service_pb2_grpc.MonitorServiceStub(channel))
