"""Auth on (TASKFLOW_API_TOKEN): the REST API and the gRPC services need the token;
health checking and reflection stay open."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from taskflow.redis_server import BundledRedis
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc
from tests.e2e.conftest import MODULE_LOOP, whole_stack
from tests.support.gateway_stack import (
    GatewayStack,
    running_gateway,
    wait_for_state,
)

pytestmark = MODULE_LOOP
TOKEN = "s3cret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SERVICES = {
    "scheduler": "taskflow.v1.SchedulerService",
    "executor": "taskflow.v1.ExecutorService",
    "monitor": "taskflow.v1.MonitorService",
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def secured(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    async with whole_stack(redis_server, TASKFLOW_API_TOKEN=TOKEN) as running:
        yield running


@pytest.fixture
def http(secured: GatewayStack, redis_url: str) -> httpx.AsyncClient:
    return secured.http


async def api_operations(http: httpx.AsyncClient) -> set[tuple[str, str]]:
    spec = (await http.get("/openapi.json")).json()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }


async def test_every_api_call_without_the_token_is_refused(http: httpx.AsyncClient) -> None:
    operations = await api_operations(http)
    assert len(operations) >= 25
    for method, path in sorted(operations):
        url = path.replace("{task_id}", "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11")
        url = url.replace("{queue_name}", "primary")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            reply = await http.request(method, url, headers=headers)
            assert reply.status_code == 401, (method, path, headers)
            assert reply.json() == {"detail": "Missing or invalid bearer token"}
            assert reply.headers["www-authenticate"] == "Bearer"
    assert (await http.get("/api/v1/tasks/", params={"token": TOKEN})).status_code == 401


async def test_every_api_call_with_the_token_succeeds(http: httpx.AsyncClient) -> None:
    async def call(method: str, path: str, **kwargs: Any) -> Any:
        reply = await http.request(method, path, headers=BEARER, **kwargs)
        assert 200 <= reply.status_code < 300, (method, path, reply.text)
        return reply.json() if "json" in reply.headers.get("content-type", "") else None

    pdf = {"file": ("a.pdf", b"%PDF-1.4 tiny", "application/pdf")}
    summarize = await call("POST", "/api/v1/tasks/summarize/", json={"content": "Some text."})
    created = await call("POST", "/api/v1/tasks", json={"task_type": "doomed"})
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/tasks/pdfxtract", {"files": pdf}),
        ("POST", "/api/v1/tasks/batch", {"json": {"tasks": [{"task_type": "echo"}]}}),
        ("GET", "/api/v1/tasks/", {}),
        ("GET", "/api/v1/tasks", {}),
        ("GET", "/api/v1/tasks/summaries/", {}),
        ("GET", f"/api/v1/tasks/{summarize['task_id']}", {}),
        ("POST", "/api/v1/tasks/requeue-orphaned", {}),
        ("POST", "/api/v1/tasks/cleanup", {"json": {"states": ["COMPLETED"]}}),
        ("GET", "/api/v1/queues/status", {}),
        ("GET", "/api/v1/queues/primary/tasks", {}),
        ("GET", "/api/v1/queues/dlq", {}),
        ("POST", "/api/v1/queues/dlq/retry-all", {}),
        ("DELETE", "/api/v1/queues/dlq", {}),
        ("GET", "/api/v1/queues/corrupt", {}),
        ("POST", "/api/v1/queues/corrupt/drop", {"json": {}}),
        ("GET", "/api/v1/workers/", {}),
        ("POST", "/api/v1/workers/open-circuit-breaker", {}),
        ("POST", "/api/v1/workers/reset-circuit-breaker", {}),
        ("GET", "/api/v1/executors/status", {}),
        ("POST", "/api/v1/executors/pause", {}),
        ("POST", "/api/v1/executors/resume", {}),
        ("GET", "/api/v1/openrouter/status", {}),
        ("GET", "/api/v1/openrouter/metrics", {}),
        ("GET", "/api/v1/openrouter/rate-limit", {}),
        ("GET", "/api/v1/tasks/metrics/throughput", {}),
        ("GET", "/api/v1/tasks/metrics/latency", {}),
        ("GET", "/api/v1/redis/health", {}),
        ("GET", "/api/v1/redis/pool-stats", {}),
        ("POST", "/api/v1/tasks/cancel", {"json": {"task_type": "echo"}}),
        ("GET", "/api/v1/task-types", {}),
        ("GET", "/api/v1/limits", {}),
    ]
    await wait_for_state_with_token(http, created["task_id"], "DLQ")
    for method, path, kwargs in calls:
        await call(method, path, **kwargs)
    doomed = await call("POST", "/api/v1/tasks", json={"task_type": "doomed"})
    await wait_for_state_with_token(http, doomed["task_id"], "DLQ")
    await call("POST", f"/api/v1/tasks/{doomed['task_id']}/retry")
    await call("DELETE", f"/api/v1/tasks/{doomed['task_id']}")
    later = await call("POST", "/api/v1/tasks", json={"task_type": "echo", "delay": 600})
    await call("POST", f"/api/v1/tasks/{later['task_id']}/cancel")
    spec = {"task_type": "echo", "cron": "0 0 1 1 *"}
    schedule = await call("POST", "/api/v1/schedules", json={"spec": spec})
    one = f"/api/v1/schedules/{schedule['schedule']['schedule_id']}"
    await call("GET", "/api/v1/schedules")
    await call("GET", one)
    await call("PUT", one, json={"spec": spec})
    for action in ("pause", "resume", "trigger"):
        await call("POST", f"{one}/{action}", json={})
    await call("DELETE", one)
    for action in ("pause", "resume"):
        await call("POST", f"/api/v1/queues/emails/{action}", json={})
    followed = await call("POST", "/api/v1/tasks", json={"task_type": "echo"})
    await call("GET", f"/api/v1/tasks/{followed['task_id']}/logs")
    async with http.stream(
        "GET", f"/api/v1/tasks/{followed['task_id']}/events", headers=BEARER
    ) as events:
        assert events.status_code == 200
    async with http.stream("GET", "/api/v1/queues/status/stream", headers=BEARER) as stream:
        assert stream.status_code == 200

    covered = {(m, p) for m, p, _ in calls} | {
        ("POST", "/api/v1/tasks/summarize/"),
        ("POST", "/api/v1/tasks"),
        ("GET", "/api/v1/tasks/{task_id}"),
        ("POST", "/api/v1/tasks/{task_id}/retry"),
        ("POST", "/api/v1/tasks/{task_id}/cancel"),
        ("DELETE", "/api/v1/tasks/{task_id}"),
        ("GET", "/api/v1/tasks/{task_id}/events"),
        ("GET", "/api/v1/tasks/{task_id}/logs"),
        ("GET", "/api/v1/queues/status/stream"),
        ("GET", "/api/v1/queues/{queue_name}/tasks"),
        ("POST", "/api/v1/queues/{name}/pause"),
        ("POST", "/api/v1/queues/{name}/resume"),
        ("POST", "/api/v1/schedules"),
        ("GET", "/api/v1/schedules"),
        *(
            (method, f"/api/v1/schedules/{{schedule_id}}{tail}")
            for method, tail in (
                ("GET", ""),
                ("PUT", ""),
                ("DELETE", ""),
                ("POST", "/pause"),
                ("POST", "/resume"),
                ("POST", "/trigger"),
            )
        ),
    }
    assert await api_operations(http) <= covered


async def wait_for_state_with_token(http: httpx.AsyncClient, task_id: str, state: str) -> None:
    http.headers.update(BEARER)
    try:
        await wait_for_state(http, task_id, state)
    finally:
        del http.headers["Authorization"]


async def test_streams_take_the_token_in_the_query(http: httpx.AsyncClient) -> None:
    path = "/api/v1/queues/status/stream"
    async with http.stream("GET", path, params={"token": TOKEN}) as reply:
        assert reply.status_code == 200
        async for line in reply.aiter_lines():
            if line.startswith("data: "):
                assert json.loads(line[6:])["type"] == "initial_status"
                break
    assert (await http.get(path, params={"token": "wrong"})).status_code == 401


async def test_every_event_stream_and_nothing_else_takes_the_token_in_the_query(
    http: httpx.AsyncClient,
) -> None:
    """`?token=` is for a browser's EventSource, which cannot set headers: every
    route that answers text/event-stream takes it (a new stream route must be added
    to auth.SSE_PATH), every other route refuses it."""
    spec = (await http.get("/openapi.json")).json()
    streams = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "text/event-stream" in operation["responses"].get("200", {}).get("content", {})
    }
    assert streams == {
        ("GET", "/api/v1/queues/status/stream"),
        ("GET", "/api/v1/tasks/{task_id}/events"),
    }
    later = {"task_type": "echo", "delay": 600}  # its watch stays open
    task_id = (await http.post("/api/v1/tasks", headers=BEARER, json=later)).json()["task_id"]
    for method, path in sorted(await api_operations(http)):
        url = path.replace("{task_id}", task_id).replace("{queue_name}", "primary")
        if (method, path) not in streams:
            reply = await http.request(method, url, params={"token": TOKEN})
            assert reply.status_code == 401, (method, path)
            continue
        async with http.stream(method, url, params={"token": TOKEN}) as reply:
            assert reply.status_code == 200, (method, path)
            async for line in reply.aiter_lines():
                if line.startswith("data: "):
                    assert json.loads(line[6:])["type"] in ("initial_status", "task")
                    break
        assert (await http.get(url, params={"token": "wrong"})).status_code == 401


async def test_open_endpoints_need_no_token(http: httpx.AsyncClient) -> None:
    for path in ("/live", "/ready", "/health", "/docs", "/openapi.json"):
        assert (await http.get(path)).status_code == 200, path


async def test_metrics_need_the_token(http: httpx.AsyncClient) -> None:
    """Prometheus scrapes with a bearer token; the `?token=` of the streams is no
    key to /metrics."""
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        reply = await http.get("/metrics", headers=headers)
        assert reply.status_code == 401, headers
        assert reply.headers["www-authenticate"] == "Bearer"
    assert (await http.get("/metrics", params={"token": TOKEN})).status_code == 401
    scraped = await http.get("/metrics", headers=BEARER)
    assert scraped.status_code == 200
    assert "taskflow_gateway_requests" in scraped.text


async def test_metrics_public_opens_only_metrics(secured: GatewayStack) -> None:
    settings = secured.settings.model_copy(update={"metrics_public": True})
    async with running_gateway(settings) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/api/v1/queues/status")).status_code == 401


async def test_grpc_needs_the_token_but_health_and_reflection_do_not(
    secured: GatewayStack,
) -> None:
    settings = secured.settings
    addresses = {
        "scheduler": settings.scheduler_address,
        "executor": settings.executor_address,
        "monitor": settings.monitor_address,
    }
    async with aio.insecure_channel(addresses["scheduler"]) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        with pytest.raises(aio.AioRpcError) as refused:
            await stub.ListTasks(pb.ListTasksRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reply = await stub.ListTasks(
            pb.ListTasksRequest(), metadata=(("authorization", f"Bearer {TOKEN}"),)
        )
        assert reply.page == 1

    for name, address in addresses.items():
        async with aio.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", SERVICES[name]):
                answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
                assert answer.status == health_pb2.HealthCheckResponse.SERVING, (name, service)
            assert SERVICES[name] in await reflected_services(channel)


async def reflected_services(channel: aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    call = stub.ServerReflectionInfo(iter([request]))
    names: set[str] = set()
    async for response in call:
        names.update(s.name for s in response.list_services_response.service)
    return names
