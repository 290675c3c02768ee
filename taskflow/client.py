"""A small gRPC client of the services, for the CLI and for scripts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from taskflow.rpc.tls import open_channel
from taskflow.settings import Settings
from taskflow.v1 import monitor_service_pb2_grpc, scheduler_service_pb2_grpc

if TYPE_CHECKING:  # the async stub types exist in the .pyi files only
    from taskflow.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub


@dataclass
class Clients:
    scheduler: SchedulerServiceAsyncStub
    monitor: MonitorServiceAsyncStub
    metadata: tuple[tuple[str, str], ...]


@contextlib.asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Clients]:
    """Channels to the scheduler and the monitor named in `settings` (TLS when its
    TASKFLOW_TLS_CA_FILE is set)."""
    metadata = (("authorization", f"Bearer {settings.api_token}"),) if settings.api_token else ()
    async with (
        open_channel(settings, settings.scheduler_address) as scheduler,
        open_channel(settings, settings.monitor_address) as monitor,
    ):
        yield Clients(
            scheduler_service_pb2_grpc.SchedulerServiceStub(scheduler),
            monitor_service_pb2_grpc.MonitorServiceStub(monitor),
            metadata,
        )
