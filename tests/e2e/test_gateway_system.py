"""The gateway itself: health, readiness, docs, metrics, error mapping, body limits,
CORS and the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import httpx
import pytest
from google.api import annotations_pb2
from grpc import aio

from taskflow.redis_server import free_port
from taskflow.rpc.interceptors import ERROR_KIND_KEY
from taskflow.settings import Settings
from taskflow.v1 import executor_service_pb2, monitor_service_pb2, scheduler_service_pb2
from tests.e2e.conftest import MODULE_LOOP, SETTINGS
from tests.support.gateway_stack import (
    GatewayStack,
    create_task,
    running_gateway,
    wait_for_state,
)
from tests.support.waiting import until_answering

pytestmark = MODULE_LOOP
if TYPE_CHECKING:  # grpc's runtime classes are not generic; only the stubs are
    GenericRpcHandler = grpc.GenericRpcHandler[Any, Any]
else:
    GenericRpcHandler = grpc.GenericRpcHandler
TASK_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"


def http_rules() -> set[tuple[str, str]]:
    """(method, path) of every RPC's google.api.http annotation in the protos."""
    rules = set()
    for module in (scheduler_service_pb2, executor_service_pb2, monitor_service_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                if method.client_streaming:  # an upload: no route of its own (test_contracts)
                    continue
                rule = method.GetOptions().Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                rules.add((verb, getattr(rule, verb)))
    return rules


async def test_live_ready_and_health(http: httpx.AsyncClient) -> None:
    assert (await http.get("/live")).status_code == 200
    ready = await http.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["services"] == dict.fromkeys(
        ("scheduler", "executor", "monitor"), "SERVING"
    )
    health = await http.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert set(body) == {"status", "components", "component_details", "note", "timestamp"}
    assert body["status"] in {"healthy", "degraded"}
    assert body["component_details"]["redis"]["status"] == "healthy"
    assert {"workers", "scheduler", "executor", "monitor"} <= set(body["component_details"])


async def test_openapi_serves_every_annotated_rpc(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    served = {(verb, path) for path, ops in spec["paths"].items() for verb in ops}
    missing = http_rules() - served
    assert not missing, f"RPCs whose google.api.http route the gateway lacks: {sorted(missing)}"
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


async def test_docs_and_redoc_load_their_assets_from_the_gateway(http: httpx.AsyncClient) -> None:
    """No CDN: every script and stylesheet of /docs and /redoc is served by the
    gateway itself, so both pages work on a machine with no network."""
    for page, marker in (("/docs", "SwaggerUIBundle"), ("/redoc", "Redoc")):
        html = await http.get(page)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            served = await http.get(asset)
            assert served.status_code == 200, asset
            if asset.endswith(".js"):
                assert marker in served.text, asset


async def test_metrics_count_requests_by_route_and_tasks_by_state(
    http: httpx.AsyncClient,
) -> None:
    task_id = await create_task(http, "echo", "measured")
    await wait_for_state(http, task_id, "COMPLETED")
    await http.get(f"/api/v1/tasks/{TASK_ID}")
    text = (await http.get("/metrics")).text
    assert (
        'taskflow_gateway_requests_total{method="GET",route="/api/v1/tasks/{task_id}",'
        'status="404"}' in text
    )
    assert (
        'taskflow_gateway_request_duration_seconds_count{method="POST",route="/api/v1/tasks"}'
        in text
    )
    assert 'taskflow_tasks{state="COMPLETED"} 1.0' in text
    assert 'taskflow_queue_depth{queue="primary"} 0.0' in text
    assert "taskflow_gateway_monitor_up 1.0" in text


async def test_json_bodies_over_the_limit_are_refused(http: httpx.AsyncClient) -> None:
    big = {"task_type": "echo", "content": "x" * SETTINGS["TASKFLOW_GATEWAY_MAX_BODY_BYTES"]}
    reply = await http.post("/api/v1/tasks", json=big)
    assert reply.status_code == 413
    assert reply.json() == {"detail": "Content Too Large"}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(4):
            yield b" " * (SETTINGS["TASKFLOW_GATEWAY_MAX_BODY_BYTES"] // 2)

    streamed = await http.post(
        "/api/v1/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json() == {"detail": "Content Too Large"}


async def test_validation_errors_stay_422_with_detail(http: httpx.AsyncClient) -> None:
    reply = await http.post("/api/v1/tasks/summarize/", content=b"{not json", headers={
        "content-type": "application/json"
    })  # fmt: skip
    assert reply.status_code == 422
    assert isinstance(reply.json()["detail"], list)


# --- a gateway whose services misbehave or are gone -----------------------------------


class Scripted(GenericRpcHandler):
    """Answers every RPC with the status it is told to."""

    def __init__(self) -> None:
        self.code = grpc.StatusCode.INTERNAL
        self.details = "secret internals: /srv/app.py line 12"
        self.kind = ""

    def service(self, handler_call_details: Any) -> Any:
        async def answer(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
            if self.kind:
                context.set_trailing_metadata(((ERROR_KIND_KEY, self.kind),))
            await context.abort(self.code, self.details)

        return grpc.unary_unary_rpc_method_handler(answer)


@contextlib.asynccontextmanager
async def scripted_backends(tmp_path: Path) -> AsyncIterator[tuple[Scripted, httpx.AsyncClient]]:
    """The gateway in front of a fake scheduler; executor and monitor addresses lead
    nowhere. Also CORS on, and a built dashboard in `tmp_path`."""
    scripted = Scripted()
    server = aio.server()
    server.add_generic_rpc_handlers((scripted,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>dashboard</html>")
    (dist / "assets" / "app.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("outside dist")
    settings = Settings(
        TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{port}",
        TASKFLOW_EXECUTOR_ADDRESS=f"127.0.0.1:{free_port()}",
        TASKFLOW_MONITOR_ADDRESS=f"127.0.0.1:{free_port()}",
        TASKFLOW_CORS_ORIGINS=["http://dashboard.test"],
        TASKFLOW_FRONTEND_DIST=dist,
    )
    try:
        async with (
            running_gateway(settings) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as http,
        ):
            yield scripted, http
    finally:
        await server.stop(None)


@pytest.mark.parametrize(
    ("code", "kind", "status", "leaks"),
    [
        (grpc.StatusCode.INTERNAL, "", 502, False),
        (grpc.StatusCode.DATA_LOSS, "", 502, False),
        (grpc.StatusCode.UNKNOWN, "", 502, False),
        (grpc.StatusCode.UNAVAILABLE, "", 503, False),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "", 504, False),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "", 429, True),
        (grpc.StatusCode.UNAUTHENTICATED, "", 401, True),
        (grpc.StatusCode.FAILED_PRECONDITION, "", 409, True),
        (grpc.StatusCode.INVALID_ARGUMENT, "", 422, True),
        (grpc.StatusCode.INVALID_ARGUMENT, "TooLarge", 413, True),
        (grpc.StatusCode.NOT_FOUND, "", 404, True),
    ],
)
async def test_grpc_status_maps_to_http(
    tmp_path: Path, code: grpc.StatusCode, kind: str, status: int, leaks: bool
) -> None:
    async with scripted_backends(tmp_path) as (scripted, http):
        scripted.code, scripted.kind = code, kind
        reply = await http.get(f"/api/v1/tasks/{TASK_ID}")
    assert reply.status_code == status
    assert set(reply.json()) == {"detail"}
    assert ("secret internals" in reply.json()["detail"]) is leaks


async def test_not_ready_and_unavailable_without_services(tmp_path: Path) -> None:
    async with scripted_backends(tmp_path) as (_, http):
        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert "monitor UNREACHABLE" in ready.json()["detail"]
        status = await http.get("/api/v1/queues/status")
        assert status.status_code == 503
        assert "127.0.0.1" not in status.json()["detail"]
        health = await http.get("/health")
        assert (health.status_code, health.json()["status"]) == (503, "unhealthy")
        assert (await http.get("/api/v1/queues/status/stream")).status_code == 503
        assert (await http.get("/live")).status_code == 200


async def test_cors_preflight_for_configured_origins(tmp_path: Path) -> None:
    async with scripted_backends(tmp_path) as (_, http):
        preflight = {
            "Origin": "http://dashboard.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        allowed = await http.options("/api/v1/tasks/summarize/", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "http://dashboard.test"
        other = await http.options(
            "/api/v1/tasks/summarize/", headers={**preflight, "Origin": "http://evil.test"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_dashboard_with_single_page_fallback(tmp_path: Path) -> None:
    async with scripted_backends(tmp_path) as (_, http):
        home = await http.get("/")
        assert (home.status_code, home.text) == (200, "<html>dashboard</html>")
        banner = await http.get("/", headers={"Accept": "application/json"})
        assert (banner.status_code, banner.json()["message"]) == (200, "AsyncTaskFlow API")
        asset = await http.get("/assets/app.js")
        assert asset.text == "console.log('hi')"
        assert "javascript" in asset.headers["content-type"]
        assert (await http.get("/tasks/history")).text == "<html>dashboard</html>"
        assert (await http.get("/%2e%2e/secret.txt")).text == "<html>dashboard</html>"
        unknown_api = await http.get("/api/v1/no-such-thing")
        assert (unknown_api.status_code, unknown_api.json()) == (404, {"detail": "Not Found"})


async def test_entry_point_serves_with_settings_and_stops_on_sigterm(
    stack: GatewayStack, http: httpx.AsyncClient
) -> None:
    port = free_port()
    settings = stack.settings
    env = {
        **os.environ,
        "TASKFLOW_GATEWAY_PORT": str(port),
        "TASKFLOW_SCHEDULER_ADDRESS": settings.scheduler_address,
        "TASKFLOW_EXECUTOR_ADDRESS": settings.executor_address,
        "TASKFLOW_MONITOR_ADDRESS": settings.monitor_address,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.gateway", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await until_answering(
                client, "/ready", within=60, what="python -m services.gateway ready"
            )
            reply = await client.post("/api/v1/tasks/summarize/", json={"content": "Hi there."})
            assert reply.status_code == 201
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(60):
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert await process.wait() in (0, -signal.SIGTERM)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
