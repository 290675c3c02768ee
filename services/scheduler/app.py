"""The scheduler process: SchedulerService over gRPC plus the background duties."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from services.scheduler.duties import run_duties
from services.scheduler.intake import Intake, Limits
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.servicer import SchedulerServicer
from taskflow.metrics_http import exposed
from taskflow.rpc.server import ServiceServer
from taskflow.rpc.tls import server_credentials
from taskflow.settings import Settings
from taskflow.store import StoreConfig, TaskStore
from taskflow.store.schedules import ScheduleStore
from taskflow.tasks import load_task_modules
from taskflow.v1 import scheduler_service_pb2, scheduler_service_pb2_grpc

SERVICE_NAME = scheduler_service_pb2.DESCRIPTOR.services_by_name["SchedulerService"].full_name
STOP_GRACE_S = 5.0


@contextlib.asynccontextmanager
async def running_scheduler(settings: Settings, client: Redis) -> AsyncIterator[ServiceServer]:
    """Serve SchedulerService on settings.scheduler_address and run the duties meanwhile."""
    load_task_modules(settings.task_modules)
    store = TaskStore(client, StoreConfig.from_settings(settings))
    server = ServiceServer(
        settings.scheduler_address,
        api_token=settings.api_token,
        credentials=server_credentials(settings),
    )
    metrics = SchedulerMetrics()
    schedules = ScheduleStore(client, store.config)
    servicer = SchedulerServicer(
        store, Intake(Limits.from_settings(settings)), schedules, metrics=metrics
    )
    server.add(
        scheduler_service_pb2_grpc.add_SchedulerServiceServicer_to_server, servicer, SERVICE_NAME
    )
    await server.start()
    stop_duties = asyncio.Event()
    duties = asyncio.create_task(
        run_duties(store, metrics, schedules, settings.schedule_misfire_grace_s, stop_duties),
        name="scheduler-duties",
    )
    try:
        with exposed(
            metrics.registry, settings.metrics_host, settings.scheduler_metrics_port, "scheduler"
        ):
            yield server
    finally:
        stop_duties.set()
        await server.stop(STOP_GRACE_S)
        await duties


async def serve(settings: Settings, client: Redis, stop: asyncio.Event) -> None:
    async with running_scheduler(settings, client):
        await stop.wait()
