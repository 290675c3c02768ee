"""The gateway's gRPC side: one channel per service, and the per-request view of them.

The gateway holds no state of its own and never opens a Redis connection: every
answer comes from SchedulerService, ExecutorService or MonitorService.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.batching import CreateBatcher
from services.gateway.batching import Metadata as Metadata  # the gateway's one definition
from taskflow.rpc.server import MAX_MESSAGE_BYTES
from taskflow.rpc.tls import open_channel
from taskflow.settings import Settings
from taskflow.v1 import (
    executor_service_pb2_grpc,
    monitor_service_pb2_grpc,
    scheduler_service_pb2_grpc,
)
from taskflow.v1 import scheduler_service_pb2 as scheduler_pb

if TYPE_CHECKING:  # the async stub types exist in the .pyi files only
    from taskflow.v1.executor_service_pb2_grpc import ExecutorServiceAsyncStub
    from taskflow.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub


class UnreadableReply(Exception):
    """A service answered, but the gateway could not decode the reply."""


Request = TypeVar("Request")
Response = TypeVar("Response")
# Deadline of a call; long enough for a 50 MB upload on a slow link.
CALL_TIMEOUT_S = 60.0
HEALTH_TIMEOUT_S = 2.0
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


_SCHEDULER = scheduler_pb.DESCRIPTOR.services_by_name["SchedulerService"]
CREATE_PDFXTRACT_STREAM_PATH = f"/{_SCHEDULER.full_name}/CreatePdfxtractTaskStream"


def bearer_metadata(token: str | None) -> Metadata:
    return (("authorization", f"Bearer {token}"),) if token else ()


class GrpcClients:
    """Channels to the three services, opened at start-up and closed at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.addresses = {
            "scheduler": settings.scheduler_address,
            "executor": settings.executor_address,
            "monitor": settings.monitor_address,
        }
        self.channels = {
            name: open_channel(settings, address, CHANNEL_OPTIONS)
            for name, address in self.addresses.items()
        }
        self.scheduler: SchedulerServiceAsyncStub = scheduler_service_pb2_grpc.SchedulerServiceStub(
            self.channels["scheduler"]
        )
        self.executor: ExecutorServiceAsyncStub = executor_service_pb2_grpc.ExecutorServiceStub(
            self.channels["executor"]
        )
        self.monitor: MonitorServiceAsyncStub = monitor_service_pb2_grpc.MonitorServiceStub(
            self.channels["monitor"]
        )
        self.creates = CreateBatcher(self.scheduler, CALL_TIMEOUT_S)
        # CreatePdfxtractTaskStream taking its messages already in wire form
        # (services.gateway.uploads).
        self.create_pdfxtract_stream: aio.StreamUnaryMultiCallable[
            bytes, scheduler_pb.CreatePdfxtractTaskStreamResponse
        ] = self.channels["scheduler"].stream_unary(
            CREATE_PDFXTRACT_STREAM_PATH,
            request_serializer=None,
            response_deserializer=scheduler_pb.CreatePdfxtractTaskStreamResponse.FromString,
        )

    async def close(self) -> None:
        await asyncio.gather(*(channel.close(None) for channel in self.channels.values()))

    async def health(self) -> dict[str, str]:
        """Each service's standard health status: SERVING, NOT_SERVING or UNREACHABLE."""
        names = list(self.channels)
        answers = await asyncio.gather(*(self._check(self.channels[n]) for n in names))
        return dict(zip(names, answers, strict=True))

    @staticmethod
    async def _check(channel: aio.Channel) -> str:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT_S)
        except grpc.RpcError:
            return "UNREACHABLE"
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


@dataclass(frozen=True)
class Rpc:
    """The services as one API request sees them: its credentials ride on every call."""

    clients: GrpcClients
    metadata: Metadata

    @property
    def scheduler(self) -> SchedulerServiceAsyncStub:
        return self.clients.scheduler

    @property
    def executor(self) -> ExecutorServiceAsyncStub:
        return self.clients.executor

    @property
    def monitor(self) -> MonitorServiceAsyncStub:
        return self.clients.monitor

    async def call(
        self, method: aio.UnaryUnaryMultiCallable[Request, Response], request: Request
    ) -> Response:
        reply = await method(request, metadata=self.metadata, timeout=CALL_TIMEOUT_S)
        if reply is None:
            # grpc.aio logs a reply it cannot decode (nested past the decoder's depth
            # limit, say) and returns None instead of raising.
            raise UnreadableReply(type(request).__name__)
        return reply

    async def send_stream(
        self,
        method: aio.StreamUnaryMultiCallable[Request, Response],
        requests: AsyncIterator[Request],
    ) -> Response:
        """A client-streaming call: `requests` are sent as they come, one reply."""
        reply = await method(requests, metadata=self.metadata, timeout=CALL_TIMEOUT_S)
        if reply is None:
            raise UnreadableReply("client stream")
        return reply

    async def create_task(
        self, request: scheduler_pb.CreateTaskRequest
    ) -> scheduler_pb.CreateTaskResponse:
        """CreateTask, sharing a call with the creates that arrive at the same time."""
        return await self.clients.creates.create(request, self.metadata)

    def stream(
        self, method: aio.UnaryStreamMultiCallable[Request, Response], request: Request
    ) -> aio.UnaryStreamCall[Request, Response]:
        return method(request, metadata=self.metadata)
