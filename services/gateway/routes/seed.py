"""The original's monitoring endpoints (seed-compat 3 and 4), as thin adapters over
MonitorService: /api/v1/redis/* (answered from the monitor's own Redis pool, the
gateway has none) and Workstream's /api/v1/tasks/metrics/* (per-minute series kept
in Redis as tasks move)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.gateway import shapes
from services.gateway.deps import CallerRpc
from taskflow.v1 import monitor_service_pb2 as monitor_pb

Json = dict[str, Any]
MAX_MINUTES = 24 * 60  # the series are kept 25 h
Minutes = Annotated[
    int, Query(ge=1, le=MAX_MINUTES, description="Minutes back from now, current one last.")
]
BAD_INPUT: dict[int | str, dict[str, Any]] = {422: {"description": "minutes out of 1..1440"}}


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get("/tasks/metrics/throughput", tags=["metrics"], responses=BAD_INPUT)
    async def throughput(rpc: CallerRpc, minutes: Minutes = 60) -> Json:
        """Tasks created, completed and failed (entered FAILED or the DLQ), per minute."""
        request = monitor_pb.GetTaskSeriesRequest(minutes=minutes)
        return shapes.throughput(await rpc.call(rpc.monitor.GetTaskSeries, request), minutes)

    @api.get("/tasks/metrics/latency", tags=["metrics"], responses=BAD_INPUT)
    async def latency(rpc: CallerRpc, minutes: Minutes = 60) -> Json:
        """Creation -> completion latency in seconds, per minute of completion:
        percentiles estimated from log-spaced buckets (within 10 %), exact max and mean."""
        request = monitor_pb.GetTaskSeriesRequest(minutes=minutes)
        return shapes.latency(await rpc.call(rpc.monitor.GetTaskSeries, request), minutes)

    @api.get("/redis/health", tags=["redis"])
    async def redis_health(rpc: CallerRpc) -> Json:
        """Whether the monitor reaches Redis, and its PING round trip."""
        request = monitor_pb.GetRedisHealthRequest()
        return shapes.redis_health(await rpc.call(rpc.monitor.GetRedisHealth, request))

    @api.get("/redis/pool-stats", tags=["redis"])
    async def redis_pool_stats(rpc: CallerRpc) -> Json:
        """The monitor's Redis connection pool, with advice."""
        request = monitor_pb.GetRedisPoolStatsRequest()
        return shapes.redis_pool_stats(await rpc.call(rpc.monitor.GetRedisPoolStats, request))

    return api
