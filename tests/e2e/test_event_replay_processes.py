"""Replayable events on real processes: an SSE client of the queue stream loses
the gateway and the monitor (both killed mid-stream), they restart, it reconnects
with Last-Event-ID, and what it was sent before and after equals the full event
list; a client too late for the stream's retention gets a snapshot marked so."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore, event_stream
from taskflow.store.event_stream import parse_id
from tests.support.processes import Services
from tests.support.sse import EventStream

STREAM = "/api/v1/queues/status/stream"
TASK_EVENTS = ("task_created", "task_state_changed", "task_deleted")


@contextlib.asynccontextmanager
async def sse(
    http: httpx.AsyncClient, path: str, last_event_id: str = ""
) -> AsyncIterator[EventStream]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    async with http.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        yield EventStream(response)


async def task_events(events: EventStream, count: int) -> list[tuple[str, str, str]]:
    """The next `count` task events as (id, type, task_id), skipping the rest."""
    got: list[tuple[str, str, str]] = []
    while len(got) < count:
        event = await events.next()
        if event["type"] in TASK_EVENTS:
            got.append((events.last_id, event["type"], event["task_id"]))
    return got


async def stream_log(client: Redis, store: TaskStore, after: str) -> list[tuple[str, str, str]]:
    """Every event the stream holds after `after`, as (id, type, task_id)."""
    return [
        (event.event_id, event.kind.value, event.task_id)
        async for event in event_stream.replay(client, store.keys, after)
        if event.kind.value in TASK_EVENTS
    ]


async def test_sse_resumes_after_gateway_and_monitor_restart_with_nothing_missed(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    services = Services(redis_url, tmp_path, processes)
    await services.start()
    received: list[tuple[str, str, str]] = []
    async with httpx.AsyncClient(base_url=services.base_url, timeout=10) as http:
        async with sse(http, STREAM) as events:
            assert (await events.next())["type"] == "initial_status"
            start_id = events.last_id
            assert start_id
            for i in range(3):
                await store.create(NewTask("echo", f"before {i}"))
            received += await task_events(events, 3)
            services.kill()  # mid-stream: the client's connection drops with them
        # meanwhile, with no monitor and no gateway:
        # one script call, one stream entry: ids within an entry reach the client
        missed = await store.create_many([NewTask("echo", f"missed {i}") for i in range(3)])
        (claim,) = await store.claim("w", 1)
        await store.complete(claim, "done")
        await store.delete(missed[2].task_id)
        await services.start()
        async with sse(http, STREAM, received[-1][0]) as events:
            first = await events.next()
            assert first["type"] == "heartbeat", first  # resumed, not a snapshot
            assert events.last_id == received[-1][0]
            expected_missed = await stream_log(redis_client, store, received[-1][0])
            assert len(expected_missed) == 6
            received += await task_events(events, len(expected_missed))
            live = await store.create(NewTask("echo", "live"))
            received += await task_events(events, 1)
    full = await stream_log(redis_client, store, start_id)
    assert received == full
    assert received[-1][2] == live.task_id
    ids = [parse_id(event_id) for event_id, _, _ in received]
    assert ids == sorted(set(ids))


async def test_sse_too_late_gets_a_snapshot_marked_missed(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    services = Services(redis_url, tmp_path, processes)
    await services.start()
    task = await store.create(NewTask("echo", "old"))
    async with httpx.AsyncClient(base_url=services.base_url, timeout=10) as http:
        async with sse(http, STREAM) as events:
            await events.next()
            old_id = events.last_id
        await store.create(NewTask("echo", "newer"))
        await store.create(NewTask("echo", "newest"))
        await redis_client.xtrim(store.keys.events, maxlen=1, approximate=False)
        async with sse(http, STREAM, old_id) as events:
            first = await events.next()
            assert first["type"] == "initial_status"
            assert first["missed_events"] is True
            assert first["state_counts"]["PENDING"] == 3
            assert parse_id(events.last_id) > parse_id(old_id)
        async with sse(http, f"/api/v1/tasks/{task.task_id}/events", old_id) as events:
            first = await events.next()
            assert (first["type"], first["missed_events"]) == ("task", True)
            assert first["task"]["task_id"] == task.task_id
        async with sse(http, f"/api/v1/tasks/{task.task_id}/events", events.last_id) as events:
            assert "missed_events" not in await events.next()
