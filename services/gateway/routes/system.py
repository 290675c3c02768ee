"""/health, /live, /ready: what orchestrators and people ask of the gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.gateway import shapes
from services.gateway.clients import Rpc
from services.gateway.deps import GatewayRpc
from services.gateway.errors import detail
from taskflow.v1 import monitor_service_pb2 as monitor_pb

SERVING = "SERVING"
RANK = {"healthy": 0, "degraded": 1, "unknown": 2, "unhealthy": 3}
UP = ("healthy", "degraded")
NOTE = "Each component's detail is under component_details; breakers at /api/v1/workers/"


def router() -> APIRouter:
    api = APIRouter(tags=["health"])

    @api.get("/live")
    async def live() -> dict[str, str]:
        """200 while the process runs."""
        return {"status": "alive", "timestamp": datetime.now(UTC).isoformat()}

    @api.get("/ready")
    async def ready(rpc: GatewayRpc) -> JSONResponse:
        """200 when the three gRPC services answer and Redis is reachable, else 503."""
        services, system = await asyncio.gather(rpc.clients.health(), _system_health(rpc))
        problems = [f"{name} {state}" for name, state in services.items() if state != SERVING]
        redis = system.get("components", {}).get("redis", {}).get("status")
        if redis != "healthy":
            problems.append(f"redis {redis or 'unknown'}")
        if problems:
            return detail(503, "not ready: " + ", ".join(problems))
        return JSONResponse({"status": "ready", "services": services})

    @api.get("/health")
    async def health(rpc: GatewayRpc) -> JSONResponse:
        """The system's health from MonitorService, plus each gRPC service's own;
        503 when unhealthy. `components` holds one boolean per component (the
        original's shape: true unless it is unhealthy or unknown); the detail of
        each is under `component_details`."""
        services, system = await asyncio.gather(rpc.clients.health(), _system_health(rpc))
        components: dict[str, Any] = dict(system.get("components", {}))
        for name, state in services.items():
            healthy = state == SERVING
            components[name] = {"status": "healthy" if healthy else "unhealthy", "message": state}
        worst = max((c["status"] for c in components.values()), key=lambda s: RANK.get(s, 2))
        body = {
            "status": worst,
            "components": {name: c["status"] in UP for name, c in components.items()},
            "component_details": components,
            "note": NOTE,
            "timestamp": system.get("timestamp") or datetime.now(UTC).isoformat(),
        }
        return JSONResponse(body, status_code=503 if worst == "unhealthy" else 200)

    return api


async def _system_health(rpc: Rpc) -> dict[str, Any]:
    try:
        reply = await rpc.call(rpc.monitor.GetSystemHealth, monitor_pb.GetSystemHealthRequest())
    except grpc.RpcError:
        return {}
    return shapes.system_health(reply)
