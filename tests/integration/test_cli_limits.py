"""`taskflow limits`: the declared limits and their use, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import CANCELLABLE_STATES, NewTask, TaskStore
from tests.support.cli import services, taskflow
from tests.support.tasks import RATE, RATE_INTERVAL_S, TENANT_LIMIT
from tests.support.waiting import eventually


async def test_limits_lists_each_limit_and_its_use(
    redis_url: str, redis_client: Redis, store: TaskStore, tmp_path: Path
) -> None:
    record = str(tmp_path / "runs.log")
    async with services(redis_url, redis_client) as env:
        await store.create_many(
            [NewTask("per_tenant", "30", {"tenant": "acme", "record_to": record})] * 3
        )

        async def running() -> bool:
            path = tmp_path / "runs.log"
            return path.exists() and len(path.read_text().splitlines()) >= TENANT_LIMIT

        await eventually(running, what="the tenant's tasks running")
        table = await taskflow("limits", env=env)
        as_json = await taskflow("limits", "--json", env=env)
        await store.cancel_where(CANCELLABLE_STATES, "per_tenant")

    assert table.code == 0, table.err
    rows = {line.split("│")[1].strip(): line for line in table.out.splitlines() if "│" in line}
    assert f"acme: {TENANT_LIMIT}/{TENANT_LIMIT}" in rows["per_tenant"]
    assert f"{TENANT_LIMIT} per metadata.tenant" in rows["per_tenant"]
    assert f"{RATE}/{RATE_INTERVAL_S:g}s" in rows["metered"]
    assert as_json.code == 0, as_json.err
    by_type = {entry["task_type"]: entry for entry in json.loads(as_json.out)["limits"]}
    assert by_type["per_tenant"]["slots"] == [
        {"key_value": "acme", "used": TENANT_LIMIT, "limit": TENANT_LIMIT}
    ]
    assert by_type["metered"]["rate_capacity"] == RATE
