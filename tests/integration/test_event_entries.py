"""One stream entry per script call: a batch's events share one entry, each with an
id of its own; a watch resumes after any of them with exactly the events after it;
entries of the older one-event format still read and resume; the stream is trimmed
by events, not entries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore, event_stream
from taskflow.store.event_stream import ORIGIN, parse_id
from taskflow.store.events import QueueEvent
from taskflow.store.models import TaskState
from taskflow.store.task_logs import LogLine, TaskLogs
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.stack import MonitorClient, monitor, settings_for

TASK_KINDS = ("task_created", "task_state_changed", "task_deleted")


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[MonitorClient]:
    async with monitor(settings_for(redis_url), redis_client) as client:
        yield client


async def kept(store: TaskStore, client: Redis, after: str = ORIGIN) -> list[QueueEvent]:
    return [event async for event in event_stream.replay(client, store.keys, after)]


async def entry_ids(client: Redis, store: TaskStore) -> list[str]:
    entries: Any = await client.xrange(store.keys.events)
    return [raw_id.decode() for raw_id, _ in entries]


async def task_messages(stream: Any, count: int) -> list[tuple[str, str, str]]:
    """The next `count` task events of a queue watch as (event id, kind, task id)."""
    got: list[tuple[str, str, str]] = []
    while len(got) < count:
        message = await stream.read()
        kind = message.WhichOneof("event")
        if kind in TASK_KINDS:
            got.append((message.event_id, kind, getattr(message, kind).task_id))
    return got


def old_format_body(task_id: str, timestamp: str) -> str:
    """One event's whole JSON, as every entry held before batching (field `e`)."""
    return json.dumps(
        {
            "type": "task_created",
            "task_id": task_id,
            "task_type": "echo",
            "queue_depths": {"primary": 1, "retry": 0, "scheduled": 0, "dlq": 0},
            "state_counts": {"PENDING": 1},
            "timestamp": timestamp,
        }
    )


async def append_old(client: Redis, store: TaskStore, task_id: str, timestamp: str) -> str:
    """Appends an entry as a writer before batching did; its id."""
    entry_id: Any = await client.xadd(store.keys.events, {"e": old_format_body(task_id, timestamp)})
    return str(entry_id.decode())


async def test_a_batch_is_one_entry_its_events_in_order_with_ids_of_their_own(
    store: TaskStore, redis_client: Redis
) -> None:
    created = await store.create_many([NewTask("echo", f"t{i}") for i in range(3)])
    (entry,) = await entry_ids(redis_client, store)
    events = await kept(store, redis_client)
    assert [(e.kind.value, e.task_id) for e in events] == [
        ("task_created", c.task_id) for c in created
    ]
    assert [e.event_id for e in events] == [f"{entry}-0", f"{entry}-1", entry]
    ids = [parse_id(e.event_id) for e in events]
    assert ids == sorted(set(ids))
    # the shared part, written once, reaches every event of the entry
    assert {e.state_counts[TaskState.PENDING] for e in events} == {3}
    assert all(e.queue_depths.primary == 3 and e.timestamp for e in events)


async def test_resuming_after_any_event_yields_exactly_the_events_after_it(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", f"t{i}") for i in range(3)])
    await store.claim("w", 2)  # a second entry of two events
    history = [(e.event_id, e.kind.value, e.task_id) for e in await kept(store, redis_client)]
    assert len(history) == 5
    assert len(await entry_ids(redis_client, store)) == 2
    for i, (event_id, _, _) in enumerate(list(history)):
        stream: Any = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after=event_id))
        opening = await stream.read()
        assert (opening.WhichOneof("event"), opening.event_id) == ("heartbeat", event_id)
        rest = history[i + 1 :]
        assert await task_messages(stream, len(rest)) == rest
        # then the live ones, none twice: a batch of two
        live = await store.create_many([NewTask("echo", f"live {i}"), NewTask("echo", "l")])
        got = await task_messages(stream, 2)
        assert [task_id for _, _, task_id in got] == [c.task_id for c in live]
        assert parse_id(got[0][0]) < parse_id(got[1][0])
        assert parse_id(got[0][0]) > parse_id(rest[-1][0] if rest else event_id)
        history += got
        stream.cancel()


async def test_old_one_event_entries_still_read_resume_and_go_out_live(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    old_id = await append_old(redis_client, store, "old-1", "2026-01-01T00:00:00+00:00")
    batch = await store.create_many([NewTask("echo", "a"), NewTask("echo", "b")])
    events = await kept(store, redis_client)
    assert next((e.event_id, e.task_id) for e in events) == (old_id, "old-1")
    assert [e.task_id for e in events[1:]] == [c.task_id for c in batch]
    assert events[0].queue_depths.primary == 1

    stream: Any = api.stub.WatchQueues(pb.WatchQueuesRequest(resume_after=old_id))
    assert (await stream.read()).WhichOneof("event") == "heartbeat"
    replayed = await task_messages(stream, 2)
    assert [(i, t) for i, _, t in replayed] == [(e.event_id, e.task_id) for e in events[1:]]
    # an older writer (a rolling upgrade) appends one more: it goes out live
    newer_id = await append_old(redis_client, store, "old-2", "2026-01-01T00:00:01+00:00")
    assert await task_messages(stream, 1) == [(newer_id, "task_created", "old-2")]
    stream.cancel()


async def test_the_stream_is_trimmed_by_events_not_entries(
    store: TaskStore, redis_client: Redis
) -> None:
    keys = store.keys
    # Marks are set at each 10,000 events written: start just short of the first.
    await redis_client.set(keys.events_added, 9_998)
    await store.create_many([NewTask("echo", f"t{i}") for i in range(5)])
    (first_mark,) = await entry_ids(redis_client, store)
    assert await redis_client.lrange(keys.events_marks, 0, -1) == [first_mark.encode()]
    assert int(await redis_client.get(keys.events_added) or 0) == 10_003

    # 300 entries of one event, then ten more marks' worth of events: the eleventh
    # mark trims the stream to the oldest kept mark, whole entries at a time.
    for i in range(300):
        await store.create(NewTask("echo", f"single {i}"))
    ids = await entry_ids(redis_client, store)
    oldest_kept = ids[200]
    await redis_client.delete(keys.events_marks)
    await redis_client.rpush(keys.events_marks, oldest_kept, *ids[201:210])
    await redis_client.set(keys.events_added, 99_999)
    last = await store.create_many([NewTask("echo", "over"), NewTask("echo", "the mark")])
    after = await entry_ids(redis_client, store)
    raw_marks: Any = await redis_client.lrange(keys.events_marks, 0, -1)
    marks = [m.decode() for m in raw_marks]
    assert marks[0] == ids[201]
    assert marks[-1] == after[-1]
    assert len(marks) == 10
    assert oldest_kept in after  # kept from the mark on, the newest included
    assert after[after.index(oldest_kept) :] == [*ids[200:], after[-1]]
    assert len(after) < len(ids) - 100  # approximate: whole stream nodes before it
    assert (await kept(store, redis_client, after[-2]))[-1].task_id == last[-1].task_id


async def test_progress_and_log_events_count_towards_the_trim(
    store: TaskStore, redis_client: Redis
) -> None:
    """progress.lua and log_append.lua write one-event entries through the same
    count as every other script: many of them trim the stream by events, and what
    is kept still replays."""
    keys = store.keys
    await store.create(NewTask("echo", "long"))
    (claim,) = await store.claim("w1", 1)
    added = int(await redis_client.get(keys.events_added) or 0)
    for i in range(300):
        await store.progress(claim, i / 300, f"step {i}")
    assert int(await redis_client.get(keys.events_added) or 0) == added + 300

    # Ten marks' worth of events already written: the next mark trims the stream to
    # the oldest kept one, and log lines count as progress does.
    ids = await entry_ids(redis_client, store)
    oldest_kept = ids[200]
    await redis_client.delete(keys.events_marks)
    await redis_client.rpush(keys.events_marks, oldest_kept, *ids[201:210])
    await redis_client.set(keys.events_added, 99_995)
    for i in range(4):
        await store.progress(claim, 0.5, f"late {i}")
    await TaskLogs(store).append(claim.task_id, [LogLine(None, "INFO", "h", "a line")])
    await store.progress(claim, 1.0, "over the mark")
    assert int(await redis_client.get(keys.events_added) or 0) == 100_001
    after = await entry_ids(redis_client, store)
    raw_marks: Any = await redis_client.lrange(keys.events_marks, 0, -1)
    marks = [m.decode() for m in raw_marks]
    assert len(marks) == 10
    assert marks[0] == ids[201]
    assert marks[-1] == after[-2]  # the log batch's entry passed 100,000
    assert after[after.index(oldest_kept) :] == [*ids[200:], *after[-6:]]
    assert len(after) < len(ids) - 100  # trimmed: whole stream nodes before the mark

    replayed = await kept(store, redis_client, oldest_kept)
    kinds = [event.kind.value for event in replayed]
    assert kinds == ["task_progress"] * (len(ids) - 201 + 4) + ["task_logs", "task_progress"]
    assert [event.message for event in replayed[-6:]] == [
        "late 0",
        "late 1",
        "late 2",
        "late 3",
        "",
        "over the mark",
    ]
    assert replayed[-1].fraction == 1.0
