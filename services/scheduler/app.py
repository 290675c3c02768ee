"""The scheduler process: SchedulerService over gRPC (a thread-based server:
services/scheduler/threaded.py) plus the background duties on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from services.scheduler.duties import run_duties
from services.scheduler.intake import Intake, Limits
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.servicer import SchedulerServicer
from services.scheduler.threaded import ThreadedScheduler
from taskflow.metrics_http import exposed
from taskflow.redis_runtime import sync_twin
from taskflow.rpc.threaded_server import ThreadedServiceServer
from taskflow.rpc.tls import server_credentials
from taskflow.settings import Settings
from taskflow.store import StoreConfig, TaskStore
from taskflow.store.schedules import ScheduleStore
from taskflow.store.sync_create import SyncCreator
from taskflow.tasks import load_task_modules
from taskflow.v1 import scheduler_service_pb2, scheduler_service_pb2_grpc

SERVICE_NAME = scheduler_service_pb2.DESCRIPTOR.services_by_name["SchedulerService"].full_name
STOP_GRACE_S = 5.0


@contextlib.asynccontextmanager
async def running_scheduler(
    settings: Settings, client: Redis
) -> AsyncIterator[ThreadedServiceServer]:
    """Serve SchedulerService on settings.scheduler_address and run the duties meanwhile."""
    load_task_modules(settings.task_modules)
    store = TaskStore(client, StoreConfig.from_settings(settings))
    server = ThreadedServiceServer(
        settings.scheduler_address,
        api_token=settings.api_token,
        credentials=server_credentials(settings),
    )
    metrics = SchedulerMetrics()
    schedules = ScheduleStore(client, store.config)
    servicer = SchedulerServicer(
        store, Intake(Limits.from_settings(settings)), schedules, metrics=metrics
    )
    twin = sync_twin(client)
    creator = (
        None if twin is None or not store.config.functions else SyncCreator(twin, store.config)
    )
    threaded = ThreadedScheduler(servicer, creator, asyncio.get_running_loop())
    server.add(
        scheduler_service_pb2_grpc.add_SchedulerServiceServicer_to_server,
        threaded.methods(),
        SERVICE_NAME,
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
        if twin is not None:
            twin.close()


async def serve(settings: Settings, client: Redis, stop: asyncio.Event) -> None:
    async with running_scheduler(settings, client):
        await stop.wait()
