"""What the original system's own clients read (seed-compat.md "Must change"), one
test per item, over real HTTP against the whole stack: the exact fields and types
the original dashboard and tester use, with ours beside them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import create_task, gateway_stack, wait_for_state
from tests.support.sse import EventStream
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP
SEED_BREAKER_STATES = {"closed", "open", "half-open"}


async def get_json(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    reply = await http.get(path, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- 1. workers --------------------------------------------------------------------------


async def test_1_workers_carry_the_original_nested_breaker(http: httpx.AsyncClient) -> None:
    await wait_for_state(http, await create_task(http, "echo", "x"), "COMPLETED")

    async def counted() -> bool:
        details = (await get_json(http, "/api/v1/workers/"))["worker_details"]
        return bool(details) and details[0]["circuit_breaker"]["success_count"] >= 1

    await eventually(counted, what="the completion in the worker's breaker counts")
    body = await get_json(http, "/api/v1/workers/")
    assert body["circuit_breaker_states"] == {"closed": 1}
    assert (body["total_workers"], body["healthy_workers"], body["stale_workers"]) == (1, 1, 0)
    assert body["overall_status"] == "healthy"
    assert "error" not in body
    [worker] = body["worker_details"]
    assert isinstance(worker["worker_id"], str)
    assert worker["status"] == "healthy"
    assert isinstance(worker["last_heartbeat"], float)
    assert abs(worker["last_heartbeat"] - time.time()) < 60
    assert isinstance(worker["heartbeat_age_seconds"], float)
    breaker = worker["circuit_breaker"]
    assert breaker["state"] == "closed"
    assert isinstance(breaker["fail_count"], int)
    assert isinstance(breaker["success_count"], int)
    assert isinstance(breaker["note"], str)
    # Ours, beside the original's.
    assert isinstance(body["breakers"], dict)
    assert worker["success_count"] == breaker["success_count"]

    assert (await http.post("/api/v1/workers/open-circuit-breaker")).status_code == 200
    try:
        body = await get_json(http, "/api/v1/workers/")
        assert body["circuit_breaker_states"] == {"open": 1}
        assert body["breakers"] == {"openrouter": "OPEN"}
        assert body["worker_details"][0]["circuit_breaker"]["state"] == "open"
    finally:
        await http.post("/api/v1/workers/reset-circuit-breaker")


async def test_1_no_worker_is_the_original_error_answer(
    redis_server: BundledRedis, redis_url: str
) -> None:
    # Under a key prefix of its own: the module's stack shares the server, and its
    # worker heartbeats there.
    client = Redis.from_url(redis_server.url)
    try:
        async with gateway_stack(
            redis_server.url, client, executor=False, TASKFLOW_KEY_PREFIX="no-workers:"
        ) as lone:
            body = await get_json(lone.http, "/api/v1/workers/")
    finally:
        await client.aclose()
    assert body["error"] == "No worker heartbeats found - workers may not be running"
    assert body["total_workers"] == 0
    assert isinstance(body["timestamp"], str)
    assert (body["worker_details"], body["circuit_breaker_states"]) == ([], {})


# --- 2. breaker reset and open ------------------------------------------------------------


async def test_2_breaker_results_in_the_original_shape(http: httpx.AsyncClient) -> None:
    for path, counter, new_state in (
        ("/api/v1/workers/open-circuit-breaker", "successful_opens", "open"),
        ("/api/v1/workers/reset-circuit-breaker", "successful_resets", "closed"),
    ):
        reply = await http.post(path)
        assert reply.status_code == 200
        body = reply.json()
        assert {"message", counter, "results", "timestamp"} <= set(body)
        assert body[counter] == 1
        [result] = body["results"]
        assert result["status"] == "success"
        assert result["new_state"] == new_state
        assert isinstance(result["message"], str)
        assert isinstance(result["worker_id"], str)
        if new_state == "open":
            assert "halt until a reset" in body["message"]
            provider = await get_json(http, "/api/v1/openrouter/status", force_refresh=True)
            assert provider["circuit_breaker_open"] is True


# --- 3. Redis health and pool statistics ----------------------------------------------------


async def test_3_redis_health_and_pool_stats(http: httpx.AsyncClient) -> None:
    health = await get_json(http, "/api/v1/redis/health")
    assert (health["status"], health["connected"]) == ("healthy", True)
    assert isinstance(health["response_time_ms"], float)
    assert health["response_time_ms"] >= 0
    assert isinstance(health["timestamp"], float)
    assert abs(health["timestamp"] - time.time()) < 60

    body = await get_json(http, "/api/v1/redis/pool-stats")
    stats = body["pool_statistics"]
    assert stats["status"] == "healthy"
    for name in ("max_connections", "created_connections", "available_connections"):
        assert isinstance(stats[name], int)
    assert isinstance(stats["in_use_connections"], int)
    assert stats["created_connections"] >= 1  # the monitor has used its pool
    assert stats["created_connections"] == (
        stats["available_connections"] + stats["in_use_connections"]
    )
    assert stats["connection_type"] == "tcp"
    assert is_number(stats["utilization_percent"])
    assert body["recommendations"]
    assert all(isinstance(v, str) for v in body["recommendations"].values())


# --- 4. Workstream's throughput and latency series ---------------------------------------


async def test_4_throughput_and_latency_per_minute(http: httpx.AsyncClient) -> None:
    done = [await create_task(http, "echo", str(i)) for i in range(3)]
    failed = await create_task(http, "doomed")
    for task_id in done:
        await wait_for_state(http, task_id, "COMPLETED")
    await wait_for_state(http, failed, "DLQ")

    throughput = await get_json(http, "/api/v1/tasks/metrics/throughput", minutes=5)
    assert throughput["time_window"] == "5m"
    points = throughput["metrics"]
    assert len(points) == 5
    assert points == sorted(points, key=lambda p: p["timestamp"])
    for point in points:
        assert set(point) == {"timestamp", "created_count", "completed_count", "failed_count"}
        assert all(isinstance(point[k], int) for k in set(point) - {"timestamp"})
    # An empty Redis at the start of the test: these tasks are all there is.
    assert sum(p["created_count"] for p in points) == 4
    assert sum(p["completed_count"] for p in points) == 3
    assert sum(p["failed_count"] for p in points) == 1

    latency = await get_json(http, "/api/v1/tasks/metrics/latency", minutes=5)
    assert latency["time_window"] == "5m"
    assert len(latency["metrics"]) == 5
    fields = ("p50", "p90", "p95", "p99", "max_latency", "avg_latency")
    for point in latency["metrics"]:
        assert set(point) == {"timestamp", "task_count", *fields}
        assert all(is_number(point[k]) for k in fields)
    busy = [p for p in latency["metrics"] if p["task_count"]]
    assert sum(p["task_count"] for p in busy) == 3
    for point in busy:
        assert 0 <= point["p50"] <= point["p99"] <= point["max_latency"] < 60
        assert 0 < point["avg_latency"] <= point["max_latency"]
    assert len((await get_json(http, "/api/v1/tasks/metrics/throughput"))["metrics"]) == 60


@pytest.mark.parametrize(
    "path", ["/api/v1/tasks/metrics/throughput", "/api/v1/tasks/metrics/latency"]
)
@pytest.mark.parametrize("minutes", ["0", "1441", "-5", "an hour"])
async def test_4_bad_minutes_are_422_with_a_json_body(
    http: httpx.AsyncClient, path: str, minutes: str
) -> None:
    reply = await http.get(path, params={"minutes": minutes})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["query", "minutes"]


# --- 5. provider metrics and status ----------------------------------------------------------


async def test_5_provider_metrics_by_date_and_force_refresh(http: httpx.AsyncClient) -> None:
    body = await get_json(http, "/api/v1/openrouter/metrics", days=7)
    assert body["days"] == 7
    assert isinstance(body["metrics"], dict)
    assert isinstance(body["generated_at"], str)
    for date, day in body["metrics"].items():
        assert len(date) == 10
        assert {"total_calls", "successful_calls", "failed_calls"} <= set(day)
    assert len(body["daily"]) == 7  # ours: every day, as a list

    await get_json(http, "/api/v1/openrouter/status")
    assert (await get_json(http, "/api/v1/openrouter/status"))["cache_hit"] is True
    fresh = await get_json(http, "/api/v1/openrouter/status", force_refresh="true")
    assert fresh["cache_hit"] is False
    alias = await get_json(http, "/api/v1/openrouter/status", refresh="true")
    assert alias["cache_hit"] is False
    bad = await http.get("/api/v1/openrouter/metrics", params={"days": "week"})
    assert bad.status_code == 422


# --- 6. health and liveness -----------------------------------------------------------------


async def test_6_health_components_are_booleans(http: httpx.AsyncClient) -> None:
    await eventually(lambda: _workers_up(http), what="the health check to see the worker")
    body = await get_json(http, "/health")
    assert body["components"]["redis"] is True
    assert body["components"]["workers"] is True
    assert all(isinstance(v, bool) for v in body["components"].values())
    assert isinstance(body["note"], str)
    assert isinstance(body["timestamp"], str)
    assert body["component_details"]["redis"]["status"] == "healthy"  # ours
    live = await get_json(http, "/live")
    assert live["status"] == "alive"
    assert isinstance(live["timestamp"], str)


async def _workers_up(http: httpx.AsyncClient) -> bool:
    return bool((await get_json(http, "/health"))["components"].get("workers"))


# --- 7. trailing slashes -----------------------------------------------------------------------


async def test_7_the_other_slash_form_redirects_keeping_the_method(
    http: httpx.AsyncClient,
) -> None:
    for path, target in (
        ("/api/v1/workers", "/api/v1/workers/"),
        ("/api/v1/queues/status/", "/api/v1/queues/status"),
        ("/api/v1/openrouter/status/", "/api/v1/openrouter/status"),
    ):
        reply = await http.get(path, params={"page": 1})
        assert reply.status_code == 307, path
        assert reply.headers["location"] == f"{target}?page=1"
        assert (await http.get(path, follow_redirects=True)).status_code == 200
    posted = await http.post("/api/v1/workers/reset-circuit-breaker/", follow_redirects=True)
    assert posted.status_code == 200
    assert posted.json()["successful_resets"] == 1
    unknown = await http.get("/api/v1/nonexistent")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not Found"})


# --- 8. listing parameters ---------------------------------------------------------------------


async def test_8_task_status_filter_timestamp_sorts_and_unknown_types(
    http: httpx.AsyncClient,
) -> None:
    task_id = await create_task(http, "echo", "listed")
    await wait_for_state(http, task_id, "COMPLETED")
    done = await get_json(http, "/api/v1/tasks/summaries/", task_status="COMPLETED")
    assert [t["task_id"] for t in done["tasks"]] == [task_id]
    pending = await get_json(http, "/api/v1/tasks/summaries/", task_status="PENDING")
    assert pending["tasks"] == []
    assert (await get_json(http, "/api/v1/tasks/", status="COMPLETED"))["total_items"] == 1
    for field in ("created_at", "updated_at", "completed_at"):
        page = await get_json(http, "/api/v1/tasks/summaries/", sort_by=field)
        assert [t["task_id"] for t in page["tasks"]] == [task_id]
    for params in ({"task_type": "no_such_type"}, {"sort_by": "content"}):
        bad = await http.get("/api/v1/tasks/summaries/", params=params)
        assert bad.status_code == 422, params
        assert "detail" in bad.json()


# --- 9. the tester's status codes -----------------------------------------------------------------


async def test_9_retry_of_a_live_task_is_400_and_unknown_queue_422(
    http: httpx.AsyncClient,
) -> None:
    task_id = await create_task(http, "echo", "fine")
    await wait_for_state(http, task_id, "COMPLETED")
    refused = await http.post(f"/api/v1/tasks/{task_id}/retry", json={"reset_retry_count": False})
    assert refused.status_code == 400
    assert "detail" in refused.json()
    unknown = await http.get("/api/v1/queues/invalid_queue/tasks")
    assert unknown.status_code == 422
    assert isinstance(unknown.json()["detail"], list)


# --- 10. the live stream ------------------------------------------------------------------------


async def test_10_stream_is_open_to_any_origin_and_sends_queue_updates(
    http: httpx.AsyncClient,
) -> None:
    async with http.stream("GET", "/api/v1/queues/status/stream") as reply:
        assert reply.headers["access-control-allow-origin"] == "*"
        stream = EventStream(reply)
        assert (await stream.next())["type"] == "initial_status"
        task_id = await create_task(http, "echo", "watched")
        created = await stream.next()
        assert (created["type"], created["task_id"]) == ("task_created", task_id)
        update = await stream.next()
        assert update["type"] == "queue_update"
        assert update["queue_depths"] == created["queue_depths"]
        assert update["state_counts"] == created["state_counts"]
        assert update["retry_ratio"] == created["retry_ratio"]
        assert isinstance(update["timestamp"], str)


# --- may stay ours, documented: the root --------------------------------------------------


async def test_root_answers_the_original_banner_to_json_clients(http: httpx.AsyncClient) -> None:
    banner = await get_json_with(http, "/", {"Accept": "application/json"})
    assert banner["message"] == "AsyncTaskFlow API"
    assert (banner["docs"], banner["health"]) == ("/docs", "/health")


async def get_json_with(http: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    reply = await http.get(path, headers=headers)
    assert reply.status_code == 200, reply.text
    return reply.json()
