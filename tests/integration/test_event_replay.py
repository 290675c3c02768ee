"""The events stream and resuming a watch: every published event is also in the
stream, in the same script step; a queue watch resumes after an event id with
nothing missed or repeated; one too late gets a snapshot marked missed_events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore, event_stream
from taskflow.store.event_stream import ORIGIN, parse_id
from taskflow.store.events import QueueEvent, parse_event
from taskflow.v1 import enums_pb2
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.stack import MonitorClient, monitor, settings_for


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[MonitorClient]:
    async with monitor(settings_for(redis_url), redis_client) as client:
        yield client


async def read(stream: Any) -> Any:
    return await stream.read()


async def stream_entries(client: Redis, key: str) -> list[tuple[str, dict[bytes, bytes]]]:
    """Every entry of the events stream: (id, its fields)."""
    entries: Any = await client.xrange(key)
    return [(raw_id.decode(), fields) for raw_id, fields in entries]


async def kept_events(store: TaskStore, client: Redis, after: str = ORIGIN) -> list[QueueEvent]:
    return [event async for event in event_stream.replay(client, store.keys, after)]


def task_of(message: pb.WatchQueuesResponse) -> tuple[str, str]:
    kind = message.WhichOneof("event")
    assert kind in ("task_created", "task_state_changed", "task_deleted"), kind
    return kind, getattr(message, kind).task_id


async def test_every_published_event_is_in_the_stream(
    store: TaskStore, redis_client: Redis
) -> None:
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(store.keys.channel)
    try:
        created = await store.create(NewTask("echo", "x"))
        (claim,) = await store.claim("w", 1)
        await store.complete(claim, "done")
        await store.delete(created.task_id)
        published: list[bytes] = []
        async with asyncio.timeout(20):  # a subscribe confirmation reads as None
            while len(published) < 4:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    published.append(message["data"])
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    kept = await kept_events(store, redis_client)
    assert [replace(event, event_id="") for event in kept] == [
        parse_event(body) for body in published
    ]
    kinds = [json.loads(body)["type"] for body in published]
    assert kinds == ["task_created", "task_state_changed", "task_state_changed", "task_deleted"]
    assert len(await stream_entries(redis_client, store.keys.events)) == 4  # a call each


async def test_a_resumed_watch_gets_what_it_missed_then_live_events(
    api: MonitorClient, store: TaskStore
) -> None:
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=30))
    snapshot = await read(stream)
    assert snapshot.WhichOneof("event") == "initial_status"
    first = await store.create(NewTask("echo", "seen"))
    seen = await read(stream)
    assert task_of(seen) == ("task_created", first.task_id)
    assert seen.event_id
    stream.cancel()

    missed = [await store.create(NewTask("echo", f"m{i}")) for i in range(3)]
    (claim,) = await store.claim("w", 1)
    resumed = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after=seen.event_id))
    opening = await read(resumed)
    assert opening.WhichOneof("event") == "heartbeat"
    assert opening.event_id == seen.event_id
    replayed = [await read(resumed) for _ in range(4)]
    assert [task_of(m) for m in replayed] == [
        *[("task_created", t.task_id) for t in missed],
        ("task_state_changed", first.task_id),
    ]
    assert claim.task_id == first.task_id
    ids = [m.event_id for m in replayed]
    assert [parse_id(i) for i in ids] == sorted({parse_id(i) for i in ids})
    assert parse_id(ids[0]) > parse_id(seen.event_id)
    assert replayed[-1].task_state_changed.state_counts.active == 1

    live = await store.create(NewTask("echo", "live"))
    after = await read(resumed)
    assert task_of(after) == ("task_created", live.task_id)
    assert parse_id(after.event_id) > parse_id(ids[-1])
    resumed.cancel()


async def test_resuming_too_late_sends_a_snapshot_marked_missed(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    old = await store.create(NewTask("echo", "old"))
    ((old_id, _),) = await stream_entries(redis_client, store.keys.events)
    await store.create(NewTask("echo", "newer"))
    # the retention ran out
    await redis_client.xtrim(store.keys.events, maxlen=1, approximate=False)
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after=old_id))
    first = await read(stream)
    assert first.WhichOneof("event") == "initial_status"
    assert first.initial_status.missed_events
    assert first.initial_status.state_counts.pending == 2
    assert parse_id(first.event_id) > parse_id(old_id)
    assert old.task_id
    stream.cancel()


async def test_a_watch_within_retention_is_not_marked_missed(
    api: MonitorClient, store: TaskStore
) -> None:
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest())
    first = await read(stream)
    assert not first.initial_status.missed_events
    stream.cancel()


async def test_a_resume_id_that_is_not_ours_starts_afresh_marked_missed(
    api: MonitorClient, store: TaskStore
) -> None:
    task = await store.create(NewTask("echo", "x"))
    queues = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after="null"))
    first = await read(queues)
    assert first.WhichOneof("event") == "initial_status"
    assert first.initial_status.missed_events
    queues.cancel()
    watch = api.stub.WatchTask(pb.WatchTaskRequest(task_id=task.task_id, resume_after="x"))
    assert (await read(watch)).missed_events
    watch.cancel()


async def test_watch_task_resumed_too_late_says_so(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    task = await store.create(NewTask("echo", "x"))
    ((entry_id, _),) = await stream_entries(redis_client, store.keys.events)
    stream = api.stub.WatchTask(pb.WatchTaskRequest(task_id=task.task_id, resume_after=entry_id))
    first = await read(stream)
    assert (first.task.task_id, first.missed_events) == (task.task_id, False)
    assert first.event_id == entry_id
    stream.cancel()
    await store.create(NewTask("echo", "y"))
    await redis_client.xtrim(store.keys.events, maxlen=1, approximate=False)
    stream = api.stub.WatchTask(pb.WatchTaskRequest(task_id=task.task_id, resume_after=entry_id))
    assert (await read(stream)).missed_events
    stream.cancel()


async def test_a_cancel_request_is_a_queue_event_and_replays(
    api: MonitorClient, store: TaskStore
) -> None:
    """task_cancel_requested (a running task marked, still ACTIVE) goes out on the
    queue watch like the other events, and a watch resumed before it gets it again."""
    created = await store.create(NewTask("echo", "long"))
    (claim,) = await store.claim("w", 1)
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=30))
    snapshot = await read(stream)
    assert snapshot.WhichOneof("event") == "initial_status"
    assert await store.cancel(created.task_id) == "ACTIVE"
    live = await read(stream)
    assert live.WhichOneof("event") == "task_cancel_requested"
    requested = live.task_cancel_requested
    assert (requested.task_id, requested.task_type) == (created.task_id, "echo")
    assert requested.state_counts.active == 1  # still running until its worker stops it
    assert parse_id(live.event_id) > parse_id(snapshot.event_id)
    stream.cancel()

    await store.cancelled(claim)
    resumed = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after=snapshot.event_id))
    assert (await read(resumed)).WhichOneof("event") == "heartbeat"
    replayed = [await read(resumed) for _ in range(2)]
    assert [(m.WhichOneof("event"), m.event_id) for m in replayed] == [
        ("task_cancel_requested", live.event_id),
        ("task_state_changed", replayed[1].event_id),
    ]
    assert replayed[0] == live
    assert replayed[1].task_state_changed.new_state == enums_pb2.TASK_STATE_CANCELLED
    resumed.cancel()
