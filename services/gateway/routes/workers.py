"""/api/v1/workers, /api/v1/executors, /api/v1/openrouter: workers, the shared
circuit breaker, the executors' status, and the LLM provider (pause and resume
answer proto JSON: the transcoder serves them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.gateway import shapes
from services.gateway.deps import CallerRpc
from taskflow.v1 import executor_service_pb2 as executor_pb
from taskflow.v1 import monitor_service_pb2 as monitor_pb

Json = dict[str, Any]


class BreakerBody(BaseModel):
    service: str = Field(default="", description="One breaker (e.g. openrouter); empty: all.")


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/workers/", tags=["workers"])
    async def workers(rpc: CallerRpc) -> Json:
        reply = await rpc.call(rpc.monitor.ListWorkers, monitor_pb.ListWorkersRequest())
        return shapes.workers(reply)

    @api.post("/workers/reset-circuit-breaker", tags=["workers"])
    async def reset_breaker(rpc: CallerRpc, body: BreakerBody | None = None) -> Json:
        request = executor_pb.ResetCircuitBreakerRequest(service=body.service if body else "")
        return shapes.breaker_reset(await rpc.call(rpc.executor.ResetCircuitBreaker, request))

    @api.post("/workers/open-circuit-breaker", tags=["workers"])
    async def open_breaker(rpc: CallerRpc, body: BreakerBody | None = None) -> Json:
        """Holds back every task that needs the provider until a reset."""
        request = executor_pb.OpenCircuitBreakerRequest(service=body.service if body else "")
        return shapes.breaker_open(await rpc.call(rpc.executor.OpenCircuitBreaker, request))

    @api.get("/executors/status", tags=["executors"])
    async def executor_status(rpc: CallerRpc) -> Json:
        request = executor_pb.GetExecutorStatusRequest()
        return shapes.executor_status(await rpc.call(rpc.executor.GetExecutorStatus, request))

    @api.get("/openrouter/status", tags=["provider"])
    async def provider_status(
        rpc: CallerRpc, force_refresh: bool = False, refresh: bool = False
    ) -> Json:
        """Served from a cache refreshed at most once a minute (`force_refresh`, or
        its alias `refresh`, skips it)."""
        request = monitor_pb.GetProviderStatusRequest(refresh=force_refresh or refresh)
        return shapes.provider_status(await rpc.call(rpc.monitor.GetProviderStatus, request))

    @api.get("/openrouter/metrics", tags=["provider"])
    async def provider_metrics(
        rpc: CallerRpc, days: Annotated[int, Query(ge=1, le=90)] = 7
    ) -> Json:
        request = monitor_pb.GetProviderMetricsRequest(days=days)
        reply = await rpc.call(rpc.monitor.GetProviderMetrics, request)
        return shapes.provider_metrics(reply, days)

    @api.get("/openrouter/rate-limit", tags=["provider"])
    async def rate_limit(rpc: CallerRpc) -> Json:
        request = executor_pb.GetRateLimitStatusRequest()
        return shapes.rate_limit(await rpc.call(rpc.executor.GetRateLimitStatus, request))

    return api
