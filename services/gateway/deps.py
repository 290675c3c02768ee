"""Route dependencies: the gRPC services as the current request may use them.

They are `async def` although they never await: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.auth import forwarded_metadata
from services.gateway.clients import GrpcClients, Metadata, Rpc
from services.gateway.queue_stream import QueueStreams


def _clients(request: Request) -> GrpcClients:
    clients: GrpcClients = request.app.state.clients
    return clients


async def caller_rpc(request: Request) -> Rpc:
    """For /api/v1: each call carries the caller's token."""
    return Rpc(_clients(request), forwarded_metadata(request))


async def gateway_rpc(request: Request) -> Rpc:
    """For the gateway's own probes (/health, /ready, /metrics): its configured token."""
    metadata: Metadata = request.app.state.own_metadata
    return Rpc(_clients(request), metadata)


async def queue_streams(request: Request) -> QueueStreams:
    streams: QueueStreams = request.app.state.queue_streams
    return streams


CallerRpc = Annotated[Rpc, Depends(caller_rpc)]
SharedQueueStreams = Annotated[QueueStreams, Depends(queue_streams)]
GatewayRpc = Annotated[Rpc, Depends(gateway_rpc)]
