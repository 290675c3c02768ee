"""Limits through the gateway: GET /api/v1/limits (MonitorService.ListLimits, served
by the transcoder) and the limits in GET /api/v1/task-types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import create_task, wait_for_state
from tests.support.tasks import RATE, RATE_INTERVAL_S, TENANT_LIMIT
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP


async def limits(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    reply = await http.get("/api/v1/limits")
    assert reply.status_code == 200, reply.text
    return {entry["task_type"]: entry for entry in reply.json()["limits"]}


async def test_declared_limits_are_listed_with_their_use(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def declared_again() -> bool:  # each test starts from an empty Redis
        return {"per_tenant", "metered"} <= set(await limits(http))

    await eventually(declared_again, what="the executor's limits declared again")
    declared = await limits(http)
    assert declared["metered"]["rate_limit"] == f"{RATE}/{RATE_INTERVAL_S:g}s"
    assert declared["metered"]["rate_capacity"] == RATE
    assert declared["metered"]["rate_interval_ms"] == str(int(RATE_INTERVAL_S * 1000))
    assert declared["per_tenant"]["concurrency_limit"] == TENANT_LIMIT
    assert declared["per_tenant"]["concurrency_key"] == "metadata.tenant"
    assert declared["per_tenant"]["declared_by"].startswith("executor ")

    record = str(tmp_path / "runs.log")
    ids = [
        await create_task(
            http, "per_tenant", "1.5", metadata={"tenant": "acme", "record_to": record}
        )
        for _ in range(TENANT_LIMIT + 1)
    ]

    async def limit_full() -> bool:
        use = (await limits(http))["per_tenant"]
        return (
            use["slots"] == [{"key_value": "acme", "used": TENANT_LIMIT, "limit": TENANT_LIMIT}]
            and int(use["held_by_concurrency_total"]) >= 1
        )

    await eventually(limit_full, what="tenant acme's slots full and a task held back")
    for task_id in ids:
        task = await wait_for_state(http, task_id, "COMPLETED")
        assert task["retry_count"] == 0
    assert (await limits(http))["per_tenant"]["slots"] == []


async def test_task_types_say_their_limits(http: httpx.AsyncClient) -> None:
    reply = await http.get("/api/v1/task-types")
    kinds = {kind["name"]: kind for kind in reply.json()["task_types"]}
    assert kinds["metered"]["rate_limit"] == f"{RATE}/{RATE_INTERVAL_S:g}s"
    assert (kinds["per_tenant"]["concurrency_limit"], kinds["per_tenant"]["concurrency_key"]) == (
        TENANT_LIMIT,
        "metadata.tenant",
    )
    assert (kinds["echo"]["rate_limit"], kinds["echo"]["concurrency_limit"]) == ("", 0)
