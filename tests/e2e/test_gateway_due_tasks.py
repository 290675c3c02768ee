"""Due means PENDING over REST (issue 15): a mass of delayed tasks due at one
instant, no worker, the scheduler's promotion duty catching the hashes up at its
pace: from the run time on the gateway shows the task promoted last PENDING, with
its PENDING history entry at the due time, while its hash still says SCHEDULED;
listings by state and the queue depths agree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from taskflow.store import StoreConfig, TaskStore
from tests.e2e.conftest import MODULE_LOOP, whole_stack
from tests.support.due import create_due_at, past
from tests.support.gateway_stack import GatewayStack
from tests.support.waiting import eventually

pytestmark = MODULE_LOOP
# Promotion catches up some tens of µs of server CPU per hash: 10,000 take a good
# fraction of a second whatever the machine, long enough to read one unpromoted.
TASKS = 10_000
LEAD_S = 10.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def no_worker(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    async with whole_stack(redis_server, executor=False) as running:
        yield running


async def test_a_due_task_reads_pending_over_rest_before_its_hash_is_promoted(
    no_worker: GatewayStack, redis_url: str
) -> None:
    # A client on this module's event loop (the shared fixtures live on the test's).
    redis_client = Redis.from_url(redis_url)
    try:
        await due_reads(no_worker.http, redis_client, TaskStore(redis_client, StoreConfig()))
    finally:
        await redis_client.aclose()


async def due_reads(http: httpx.AsyncClient, redis_client: Redis, store: TaskStore) -> None:
    ids, due = await create_due_at(store, TASKS, LEAD_S)
    last = max(ids)  # ties of one due time are promoted by id: this one last
    before = (await http.get(f"/api/v1/tasks/{last}")).json()
    assert before["state"] == "SCHEDULED"
    await eventually(lambda: past(redis_client, due), within=60, what="the common run time")

    seen_unpromoted, checks = False, 0
    while await redis_client.zcard(store.keys.scheduled) or checks < 3:
        task = (await http.get(f"/api/v1/tasks/{last}")).json()
        raw_state = await redis_client.hget(store.keys.task(last), "state")
        assert task["state"] == "PENDING"
        entry = task["state_history"][-1]
        assert entry["state"] == "PENDING"
        assert datetime.fromisoformat(entry["timestamp"]) == due
        seen_unpromoted |= raw_state == b"SCHEDULED"
        status = (await http.get("/api/v1/queues/status")).json()
        assert status["queues"]["primary"] == TASKS
        assert status["queues"]["scheduled"] == 0
        checks += 1
    assert seen_unpromoted, "promotion caught every hash up before the first read"
    listed = (await http.get("/api/v1/tasks/", params={"status": "PENDING"})).json()
    assert listed["total_items"] == TASKS
    after = (await http.get(f"/api/v1/tasks/{last}")).json()
    assert after["state_history"] == task["state_history"]
