"""Contract §4 workers, circuit breaker, executors and provider, through the gateway."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import create_task, wait_for_state
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP


async def workers(http: httpx.AsyncClient) -> dict[str, Any]:
    reply = await http.get("/api/v1/workers/")
    assert reply.status_code == 200
    body: dict[str, Any] = reply.json()
    return body


async def test_workers_report_health_stats_and_breakers(http: httpx.AsyncClient) -> None:
    task_id = await create_task(http, "echo", "count me")
    await wait_for_state(http, task_id, "COMPLETED")

    async def counted() -> bool:
        details = (await workers(http))["worker_details"]
        return bool(details) and details[0]["success_count"] >= 1

    await eventually(counted, what="the worker's completion in its stats")
    body = await workers(http)
    assert set(body) == {
        "overall_status", "total_workers", "healthy_workers", "stale_workers",
        "circuit_breaker_states", "breakers", "worker_details", "timestamp",
    }  # fmt: skip
    assert (body["overall_status"], body["total_workers"], body["stale_workers"]) == (
        "healthy",
        1,
        0,
    )
    [worker] = body["worker_details"]
    assert worker["status"] == "healthy"
    assert worker["circuit_breaker_state"] == "CLOSED"
    assert (worker["failure_count"], worker["active_tasks"]) == (0, [])
    assert worker["last_seen"]


async def test_breaker_open_then_reset(http: httpx.AsyncClient) -> None:
    opened = await http.post("/api/v1/workers/open-circuit-breaker")
    assert opened.status_code == 200
    body = opened.json()
    assert set(body) >= {"message", "successful_resets", "results", "timestamp"}
    assert body["successful_opens"] == 1
    [result] = body["results"]
    assert {k: result[k] for k in ("service", "previous_state", "state", "success")} == {
        "service": "openrouter",
        "previous_state": "CLOSED",
        "state": "OPEN",
        "success": True,
    }

    async def shown_open() -> bool:
        states = (await workers(http))["breakers"]
        return bool(states.get("openrouter") == "OPEN")

    await eventually(shown_open, what="the open breaker in the workers view")
    provider = (await http.get("/api/v1/openrouter/status", params={"refresh": True})).json()
    assert provider["circuit_breaker_open"] is True

    reset = await http.post("/api/v1/workers/reset-circuit-breaker", json={"service": "openrouter"})
    assert reset.status_code == 200
    assert reset.json()["successful_resets"] == 1
    assert reset.json()["results"][0]["state"] == "CLOSED"
    assert (await workers(http))["breakers"] == {"openrouter": "CLOSED"}


async def test_executor_status_pause_and_resume(http: httpx.AsyncClient) -> None:
    status: dict[str, Any] = {}

    async def listed() -> bool:
        nonlocal status
        status = (await http.get("/api/v1/executors/status")).json()
        return bool(status["workers"])

    await eventually(listed, what="the executor's worker after its heartbeat")
    assert status["paused"] is False
    assert status["executor_id"]
    fields = {"worker_id", "pid", "concurrency", "active_task_ids", "completed", "failed"}
    assert fields <= set(status["workers"][0])
    assert (await http.post("/api/v1/executors/pause")).json() == {"paused": True}
    try:
        assert (await http.get("/api/v1/executors/status")).json()["paused"] is True
    finally:
        assert (await http.post("/api/v1/executors/resume")).json() == {"paused": False}
    assert (await http.get("/api/v1/executors/status")).json()["paused"] is False


async def test_provider_status_without_a_key(http: httpx.AsyncClient) -> None:
    reply = await http.get("/api/v1/openrouter/status")
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {
        "status", "message", "balance", "usage_today", "usage_month", "last_check",
        "error_details", "consecutive_failures", "circuit_breaker_open", "cache_hit",
    }  # fmt: skip
    assert body["status"] == "api_key_missing"
    assert body["balance"] is None
    assert (await http.get("/api/v1/openrouter/status")).json()["cache_hit"] is True


async def test_provider_metrics_per_day(http: httpx.AsyncClient) -> None:
    reply = await http.get("/api/v1/openrouter/metrics", params={"days": 3})
    assert reply.status_code == 200
    days = reply.json()["daily"]
    assert len(days) == 3
    assert set(days[0]) == {"date", "total_calls", "successes", "failures", "rate_limit_hits"}
    assert (await http.get("/api/v1/openrouter/metrics", params={"days": 0})).status_code == 422


async def test_rate_limit_status(http: httpx.AsyncClient) -> None:
    reply = await http.get("/api/v1/openrouter/rate-limit")
    assert reply.status_code == 200
    assert set(reply.json()) == {
        "enabled", "requests", "interval", "tokens", "capacity", "refill_rate", "utilization",
    }  # fmt: skip
    assert reply.json()["enabled"] is False
