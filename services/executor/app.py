"""The executor process: ExecutorService over gRPC plus P worker processes.

The first worker runs in this process, the other P-1 as children, so the
default of one process keeps a single PID to supervise and to kill.
"""

from __future__ import annotations

import asyncio
import os
import socket

from redis.asyncio import Redis

from services.executor.children import WorkerProcesses
from services.executor.pause import PauseFollower
from services.executor.runtime import run_worker
from services.executor.servicer import ExecutorServicer
from services.executor.worker_servicer import WorkerServicer
from taskflow.rpc.server import ServiceServer
from taskflow.rpc.tls import server_credentials
from taskflow.settings import Settings
from taskflow.store import Keys, StoreConfig, TaskStore
from taskflow.store.breaker import BreakerConfig, CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.rate_limit import RateLimiter
from taskflow.store.workers import WorkerRegistry
from taskflow.v1 import (
    executor_service_pb2,
    executor_service_pb2_grpc,
    worker_service_pb2,
    worker_service_pb2_grpc,
)

SERVICE_NAME = executor_service_pb2.DESCRIPTOR.services_by_name["ExecutorService"].full_name
WORKER_SERVICE_NAME = worker_service_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name
# Children get the grace period to drain, plus this long to hand back and exit.
CHILD_EXIT_MARGIN_S = 10.0


def executor_id_for(settings: Settings) -> str:
    return settings.executor_id or f"{socket.gethostname()}-{os.getpid()}"


async def serve(settings: Settings, client: Redis, stop: asyncio.Event) -> None:
    executor_id = executor_id_for(settings)
    keys = Keys(settings.key_prefix)
    server = ServiceServer(
        settings.executor_address,
        api_token=settings.api_token,
        credentials=server_credentials(settings),
    )
    servicer = ExecutorServicer(
        executor_id,
        WorkerRegistry(client, keys),
        ExecutorControl(client, keys),
        CircuitBreakerStore(client, BreakerConfig.from_settings(settings), settings.key_prefix),
        RateLimiter(client, settings.key_prefix),
    )
    server.add(
        executor_service_pb2_grpc.add_ExecutorServiceServicer_to_server, servicer, SERVICE_NAME
    )
    pause = PauseFollower(ExecutorControl(client, keys))
    await pause.refresh()  # before a remote worker's first claim
    remote = WorkerServicer(
        TaskStore(client, StoreConfig.from_settings(settings)),
        executor_id,
        heartbeat_s=settings.heartbeat_seconds,
        retry_delay_scale=settings.retry_delay_scale,
        is_paused=pause,
    )
    server.add(
        worker_service_pb2_grpc.add_WorkerServiceServicer_to_server, remote, WORKER_SERVICE_NAME
    )
    children = WorkerProcesses(settings, executor_id, settings.executor_processes - 1)
    await server.start()
    children.start()
    follower = asyncio.create_task(pause.run(stop), name="remote-pause-follower")
    try:
        await run_worker(settings, client, executor_id, stop, settings.executor_metrics_port)
    finally:
        await follower
        await children.stop(settings.shutdown_grace_seconds + CHILD_EXIT_MARGIN_S)
        await server.stop(1.0)
