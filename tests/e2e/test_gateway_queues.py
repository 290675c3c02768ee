"""Contract §4 queues and §5 live updates, through the gateway over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from taskflow.store import StoreConfig, TaskStore
from tests.e2e.conftest import MODULE_LOOP
from tests.support.gateway_stack import create_task, paused_executors, wait_for_state
from tests.support.sse import EventStream

pytestmark = MODULE_LOOP
DEPTHS = {"primary", "retry", "scheduled", "dlq"}
STATES = {"PENDING", "ACTIVE", "COMPLETED", "FAILED", "SCHEDULED", "DLQ", "CANCELLED"}


@pytest_asyncio.fixture(loop_scope="module")
async def paused(http: httpx.AsyncClient, redis_url: str) -> AsyncIterator[None]:
    """The executors claim nothing during the test, so tasks stay queued."""
    async with paused_executors(http, redis_url):
        yield


async def test_status_counts_queues_and_states(http: httpx.AsyncClient, paused: None) -> None:
    for _ in range(3):
        await create_task(http, "echo", "x")
    reply = await http.get("/api/v1/queues/status")
    assert reply.status_code == 200
    body = reply.json()
    # Ours, additions: named_queues, corrupt_tasks.
    assert set(body) == {"queues", "states", "retry_ratio", "named_queues", "corrupt_tasks"}
    assert body["corrupt_tasks"] == 0
    assert body["queues"] == {"primary": 3, "retry": 0, "scheduled": 0, "dlq": 0}
    assert body["states"] == dict.fromkeys(STATES, 0) | {"PENDING": 3}
    assert body["retry_ratio"] == pytest.approx(0.3)


async def test_queue_heads_in_the_order_they_will_be_taken(
    http: httpx.AsyncClient, paused: None
) -> None:
    ids = [await create_task(http, "echo", str(i)) for i in range(3)]
    reply = await http.get("/api/v1/queues/primary/tasks", params={"limit": 2})
    assert reply.status_code == 200
    assert reply.json() == ids[:2]
    assert (await http.get("/api/v1/queues/retry/tasks")).json() == []


async def test_queue_heads_of_an_unknown_queue_or_bad_limit(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/v1/queues/nope/tasks")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["path", "queue_name"]
    for limit in (0, 1001, "many"):
        bad = await http.get("/api/v1/queues/primary/tasks", params={"limit": limit})
        assert bad.status_code == 422


async def dead_letters(http: httpx.AsyncClient, count: int) -> list[str]:
    ids = [await create_task(http, "doomed", str(i)) for i in range(count)]
    for task_id in ids:
        await wait_for_state(http, task_id, "DLQ")
    return ids


async def test_dlq_lists_its_tasks_in_arrival_order(http: httpx.AsyncClient) -> None:
    ids = await dead_letters(http, 3)
    reply = await http.get("/api/v1/queues/dlq", params={"limit": 2})
    assert reply.status_code == 200
    tasks = reply.json()
    assert len(tasks) == 2
    assert {t["task_id"] for t in tasks} <= set(ids)
    assert tasks[0]["dlq_at"] <= tasks[1]["dlq_at"]
    assert {t["state"] for t in tasks} == {"DLQ"}
    assert tasks[0]["error_type"] == "PermanentError"
    assert (await http.get("/api/v1/queues/dlq", params={"limit": 0})).status_code == 422


async def test_retry_all_sends_the_dlq_back(http: httpx.AsyncClient, redis_url: str) -> None:
    ids = await dead_letters(http, 2)
    async with paused_executors(http, redis_url):
        reply = await http.post("/api/v1/queues/dlq/retry-all", json={"reset_retry_count": True})
        assert reply.status_code == 200
        assert reply.json()["retried"] == 2
        assert reply.json()["message"]
        for task_id in ids:
            assert (await http.get(f"/api/v1/tasks/{task_id}")).json()["state"] == "PENDING"
        assert sorted((await http.get("/api/v1/queues/retry/tasks")).json()) == sorted(ids)


async def test_purge_deletes_the_dlq(http: httpx.AsyncClient) -> None:
    ids = await dead_letters(http, 2)
    reply = await http.delete("/api/v1/queues/dlq")
    assert reply.status_code == 200
    assert reply.json()["purged"] == 2
    assert reply.json()["message"]
    for task_id in ids:
        assert (await http.get(f"/api/v1/tasks/{task_id}")).status_code == 404
    assert (await http.get("/api/v1/queues/dlq")).json() == []


# --- the live stream (contract §5) -----------------------------------------------------


async def test_stream_sends_status_then_changes_then_heartbeats(http: httpx.AsyncClient) -> None:
    async with http.stream("GET", "/api/v1/queues/status/stream") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        assert reply.headers["cache-control"] == "no-cache"
        stream = EventStream(reply)
        initial = await stream.next()
        assert initial["type"] == "initial_status"
        assert set(initial["queue_depths"]) == DEPTHS
        assert set(initial["state_counts"]) == STATES
        assert initial["retry_ratio"] == pytest.approx(0.3)
        assert initial["timestamp"]
        assert initial["corrupt_tasks"] == 0  # ours, beside the contract's fields

        task_id = await create_task(http, "echo", "live")
        created = await stream.next_of("task_created")
        assert created["task_id"] == task_id
        assert set(created) >= {"type", "task_id", "queue_depths", "timestamp"}
        assert set(created["queue_depths"]) == DEPTHS

        moves: list[tuple[str, str]] = []
        while len(moves) < 2:
            event = await stream.next_of("task_state_changed")
            assert event["task_id"] == task_id
            assert set(event["queue_depths"]) == DEPTHS
            assert set(event["state_counts"]) == STATES
            moves.append((event["old_state"], event["new_state"]))
        assert moves == [("PENDING", "ACTIVE"), ("ACTIVE", "COMPLETED")]
        assert event["state_counts"]["COMPLETED"] == 1

        heartbeat = await stream.next_of("heartbeat")
        assert set(heartbeat) == {"type", "timestamp"}

        await http.delete(f"/api/v1/tasks/{task_id}")
        deleted = await stream.next_of("task_deleted")
        assert (deleted["task_id"], deleted["old_state"]) == (task_id, "COMPLETED")
        assert deleted["state_counts"]["COMPLETED"] == 0


async def test_stream_sends_cancel_requests_and_replays_them(
    http: httpx.AsyncClient, redis_url: str, paused: None
) -> None:
    """A cancel asked of a running task is an event of the queue stream (contract §5
    shape), and a client back with Last-Event-ID from before it gets it again."""
    task_id = await create_task(http, "echo", "long")
    client = Redis.from_url(redis_url)
    try:
        (claim,) = await TaskStore(client, StoreConfig()).claim("a-test-worker", 1)
        assert claim.task_id == task_id
        async with http.stream("GET", "/api/v1/queues/status/stream") as reply:
            stream = EventStream(reply)
            await stream.next_of("initial_status")
            before = stream.last_id
            assert (await http.post(f"/api/v1/tasks/{task_id}/cancel")).status_code == 200
            live = await stream.next_of("task_cancel_requested")
            live_id = stream.last_id
        assert set(live) == {
            "type", "task_id", "task_type", "queue_depths", "state_counts", "retry_ratio",
            "timestamp",
        }  # fmt: skip
        assert (live["task_id"], live["task_type"]) == (task_id, "echo")
        assert set(live["queue_depths"]) == DEPTHS
        assert live["state_counts"]["ACTIVE"] == 1  # marked; its worker has not stopped yet

        resume = {"Last-Event-ID": before}
        async with http.stream("GET", "/api/v1/queues/status/stream", headers=resume) as reply:
            stream = EventStream(reply)
            assert (await stream.next())["type"] == "heartbeat"  # resumed: nothing missed
            assert await stream.next_of("task_cancel_requested") == live
            assert stream.last_id == live_id
        await TaskStore(client, StoreConfig()).cancelled(claim)
    finally:
        await client.aclose()
