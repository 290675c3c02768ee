"""Schedules over REST: the transcoder serves the schedule RPCs from their
google.api.http rules (no gateway code); bad specs are 422 and store nothing. And
a task's retention through the hand-kept task routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.e2e.conftest import MODULE_LOOP

pytestmark = MODULE_LOOP


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"task_type": "echo", "content": "x", "cron": "every day"}, "cron"),
        (
            {"task_type": "echo", "content": "x", "cron": "* * * * *", "time_zone": "Nowhere/X"},
            "time_zone",
        ),
        ({"task_type": "unknown", "content": "x", "cron": "* * * * *"}, "task_type"),
        ({"task_type": "echo", "content": "x", "interval": "0s"}, "interval"),
    ],
)
async def test_bad_specs_are_422_and_store_nothing(
    http: httpx.AsyncClient, redis_url: str, spec: dict[str, Any], message: str
) -> None:
    response = await http.post("/api/v1/schedules", json={"spec": spec})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    client = Redis.from_url(redis_url)
    try:
        assert [k async for k in client.scan_iter(match="schedule*")] == []
    finally:
        await client.aclose()


async def test_a_schedule_through_its_life_over_rest(http: httpx.AsyncClient) -> None:
    spec = {
        "task_type": "echo",
        "content": "nightly",
        "cron": "0 3 * * *",
        "time_zone": "Europe/Paris",
    }
    created = await http.post("/api/v1/schedules", json={"spec": spec})
    assert created.status_code == 200, created.text
    schedule = created.json()["schedule"]
    sid = schedule["schedule_id"]
    assert schedule["spec"]["misfire_policy"] == "MISFIRE_POLICY_SKIP"
    assert schedule["next_fire_at"].endswith(("T01:00:00Z", "T02:00:00Z"))  # 03:00 in Paris

    listed = (await http.get("/api/v1/schedules")).json()["schedules"]
    assert [s["schedule_id"] for s in listed] == [sid]
    paused = (await http.post(f"/api/v1/schedules/{sid}/pause", json={})).json()["schedule"]
    assert paused["paused"] is True
    assert "next_fire_at" not in paused
    task_id = (await http.post(f"/api/v1/schedules/{sid}/trigger", json={})).json()["task_id"]
    task = (await http.get(f"/api/v1/tasks/{task_id}")).json()
    assert (task["content"], task["task_type"]) == ("nightly", "echo")
    got = (await http.get(f"/api/v1/schedules/{sid}")).json()["schedule"]
    assert got["last_task_id"] == task_id
    assert got["last_task_state"] in (
        "TASK_STATE_PENDING",
        "TASK_STATE_ACTIVE",
        "TASK_STATE_COMPLETED",
    )
    resumed = (await http.post(f"/api/v1/schedules/{sid}/resume", json={})).json()["schedule"]
    assert "next_fire_at" in resumed
    updated = await http.put(
        f"/api/v1/schedules/{sid}", json={"spec": {**spec, "cron": None, "interval": "3600s"}}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["schedule"]["spec"]["interval"] == "3600s"

    assert (await http.delete(f"/api/v1/schedules/{sid}")).status_code == 200
    assert (await http.get(f"/api/v1/schedules/{sid}")).status_code == 404
    assert (await http.get("/api/v1/schedules/not-a-uuid")).status_code == 422


async def test_a_task_shows_its_retention_over_rest(http: httpx.AsyncClient) -> None:
    kept = await http.post("/api/v1/tasks", json={"task_type": "echo", "retention": "90s"})
    assert kept.status_code in (200, 201), kept.text
    task = (await http.get(f"/api/v1/tasks/{kept.json()['task_id']}")).json()
    assert task["retention_seconds"] == 90
    forever = await http.post("/api/v1/tasks", json={"task_type": "echo"})
    task = (await http.get(f"/api/v1/tasks/{forever.json()['task_id']}")).json()
    assert task["retention_seconds"] is None
    bad = await http.post("/api/v1/tasks", json={"task_type": "echo", "retention": -5})
    assert bad.status_code == 422
