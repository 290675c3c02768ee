"""Named queues through the gateway: a task created in a queue no executor consumes
waits there, visible per queue in /api/v1/queues/status (an addition beside the
original four depths, and in /metrics); pause and resume are proto routes the
transcoder serves."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import create_task, wait_for_state
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP


async def named(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    reply = await http.get("/api/v1/queues/status")
    assert reply.status_code == 200
    return {q["name"]: q for q in reply.json()["named_queues"]}


async def test_queue_depths_pause_and_resume_over_rest(http: httpx.AsyncClient) -> None:
    parked = await create_task(http, "echo", "later", queue="emails", priority=3)
    queues = await named(http)
    assert list(queues)[:1] == ["default"]
    assert queues["emails"]["primary"] == 1
    assert queues["emails"]["primary_by_priority"] == {"3": 1}
    assert queues["emails"]["paused"] is False
    # The original depths are the default queue's: the emails task is not in them.
    assert (await http.get("/api/v1/queues/status")).json()["queues"]["primary"] == 0

    async def consumed() -> bool:
        return bool((await named(http))["default"]["workers"])

    await eventually(consumed, what="the stack's worker listed as consuming default")

    paused = await http.post("/api/v1/queues/default/pause", json={})
    assert paused.status_code == 200, paused.text
    assert paused.json() == {"name": "default", "paused": True, "changed": True}
    try:
        held = await create_task(http, "echo", "held")
        assert (await named(http))["default"]["paused"] is True
        task = (await http.get(f"/api/v1/tasks/{held}")).json()
        assert task["state"] == "PENDING"
        metrics = (await http.get("/metrics")).text
        assert 'taskflow_named_queue_paused{queue="default"} 1.0' in metrics
        assert 'taskflow_named_queue_depth{list="primary",queue="emails"} 1.0' in metrics
        assert 'taskflow_named_queue_workers{queue="default"} 1.0' in metrics
    finally:
        resumed = await http.post("/api/v1/queues/default/resume", json={})
        assert resumed.json() == {"name": "default", "paused": False, "changed": True}
    await wait_for_state(http, held, "COMPLETED")

    bad = await http.post("/api/v1/queues/Not%20A%20Queue/pause", json={})
    assert bad.status_code == 422  # INVALID_ARGUMENT, as the gateway maps it
    refused = await http.post("/api/v1/tasks", json={"task_type": "echo", "queue": "UPPER"})
    assert refused.status_code == 422
    cancelled = await http.post(f"/api/v1/tasks/{parked}/cancel")
    assert cancelled.status_code == 200
