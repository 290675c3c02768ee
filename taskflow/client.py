"""A small gRPC client of the services, for the CLI and for scripts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from taskflow.rpc.tls import open_channel
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


@dataclass
class Clients:
    scheduler: SchedulerServiceAsyncStub
    monitor: MonitorServiceAsyncStub
    executor: ExecutorServiceAsyncStub
    metadata: tuple[tuple[str, str], ...]


@contextlib.asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Clients]:
    """Channels to the scheduler, the monitor and the executor named in `settings`
    (TLS when its TASKFLOW_TLS_CA_FILE is set). Channels connect on first use, so a
    command pays only for the services it calls."""
    metadata = (("authorization", f"Bearer {settings.api_token}"),) if settings.api_token else ()
    async with (
        open_channel(settings, settings.scheduler_address) as scheduler,
        open_channel(settings, settings.monitor_address) as monitor,
        open_channel(settings, settings.executor_address) as executor,
    ):
        yield Clients(
            scheduler_service_pb2_grpc.SchedulerServiceStub(scheduler),
            monitor_service_pb2_grpc.MonitorServiceStub(monitor),
            executor_service_pb2_grpc.ExecutorServiceStub(executor),
            metadata,
        )
