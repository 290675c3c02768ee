"""The gateway: REST + SSE over the gRPC services, and the dashboard.

`create_app(settings)` builds the FastAPI app; its lifespan opens the gRPC
channels and closes them at shutdown.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from google.protobuf.message import Message

from services.gateway import dashboard, errors, openapi, slashes
from services.gateway.auth import BearerAuthMiddleware, bearer_scheme
from services.gateway.clients import GrpcClients, Metadata, bearer_metadata
from services.gateway.limits import BodyLimitMiddleware
from services.gateway.methods import MethodNotAllowedMiddleware
from services.gateway.metrics import GatewayMetrics, MetricsMiddleware
from services.gateway.metrics import router as metrics_router
from services.gateway.queue_stream import QueueStreams
from services.gateway.routes import queues, seed, system, tasks, workers
from services.gateway.transcoder.install import install as install_transcoder
from taskflow.settings import Settings
from taskflow.v1 import scheduler_service_pb2 as scheduler_pb
from taskflow.v1.monitor_service_pb2 import WatchQueuesRequest

CREATE_TASK = "/taskflow.v1.SchedulerService/CreateTask"
# What each upstream serves by the gateway's own stubs, until its reflection answers.
KNOWN_SERVICES = {
    "scheduler": ["taskflow.v1.SchedulerService"],
    "executor": ["taskflow.v1.ExecutorService"],
    "monitor": ["taskflow.v1.MonitorService"],
}

DESCRIPTION = """The REST and SSE API of AsyncTaskFlow, served over its gRPC services
(SchedulerService, ExecutorService, MonitorService). Errors are `{"detail": "..."}`.
When TASKFLOW_API_TOKEN is set, every /api/v1 call (and /metrics) needs
`Authorization: Bearer <token>` (the SSE streams also accept `?token=`)."""
DOCS_ASSETS = "/docs-assets"


def create_app(settings: Settings, *, hand_kept: bool = True) -> FastAPI:
    """The gateway; `hand_kept=False` leaves every RPC to the transcoder (the
    benchmark compares the two)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = clients = GrpcClients(settings)
        heartbeat_s = settings.sse_heartbeat_seconds
        app.state.queue_streams = streams = QueueStreams(
            lambda metadata, resume: clients.monitor.WatchQueues(
                WatchQueuesRequest(heartbeat_seconds=heartbeat_s, resume_after=resume),
                metadata=metadata,
            )
        )
        await transcoded.discovery.start(clients.channels)
        try:
            yield
        finally:
            await transcoded.discovery.close()
            await streams.close()
            await clients.close()

    async def batched_create(request: Message, metadata: Metadata) -> Message:
        """Transcoded CreateTask shares calls like the hand-kept creates (batching.py).
        A request of a newer CreateTaskRequest than the gateway's is re-read as the
        gateway's: the fields it does not know travel on as unknown fields."""
        clients: GrpcClients = app.state.clients
        if not isinstance(request, scheduler_pb.CreateTaskRequest):
            request = scheduler_pb.CreateTaskRequest.FromString(request.SerializeToString())
        return await clients.creates.create(request, metadata)

    # /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline package,
    # under DOCS_ASSETS, not from a CDN: they work on a machine with no network.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="AsyncTaskFlow",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.own_metadata = bearer_metadata(settings.api_token)
    errors.install(app)
    openapi.install(app)

    secured = [Depends(bearer_scheme)]
    routers = (
        (seed.router(), tasks.router(settings), queues.router(settings), workers.router())
        if hand_kept
        else ()
    )
    for router in routers:
        app.include_router(router, dependencies=secured)
    health = system.router()
    app.include_router(health)
    metrics = GatewayMetrics()
    app.include_router(metrics_router(metrics))
    # After the hand-kept routes (they win on the same path and method), before the
    # dashboard's catch-all.
    transcoded = install_transcoder(
        app,
        bearer_metadata(settings.api_token),
        KNOWN_SERVICES,
        {CREATE_TASK: batched_create},
        refresh_every_s=settings.gateway_reflection_refresh_seconds,
    )
    slashes.install(app, [*routers, health], [transcoded])
    if dashboard.available(settings.frontend_dist):
        app.include_router(dashboard.router(settings.frontend_dist))
    else:
        app.include_router(dashboard.banner_router())

    # Last added runs first: CORS answers preflights before auth; metrics see 401s;
    # auth refuses before a body is read.
    app.add_middleware(MethodNotAllowedMiddleware, openapi=lambda: app.openapi())
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.gateway_max_body_bytes,
        per_path={tasks.PDFXTRACT_PATH: tasks.upload_limit(settings)},
    )
    if settings.api_token:
        app.add_middleware(
            BearerAuthMiddleware,
            token=settings.api_token,
            metrics_public=settings.metrics_public,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
