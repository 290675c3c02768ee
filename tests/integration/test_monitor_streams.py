"""MonitorService streams: the queue watch (snapshot, events, heartbeats, one shared
subscription, exact counts after a burst) and the watch of one task to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from services.monitor.app import running_monitor
from services.monitor.hub import WatchHub
from taskflow.store import NewTask, TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1 import monitor_service_pb2_grpc
from tests.support.stack import MonitorClient, settings_for
from tests.support.waiting import eventually

UNKNOWN_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"


# Small, so a watcher that does not read falls behind within a few hundred events
# (the gRPC buffers would absorb far more than the default backlog's worth).
BACKLOG = 50


@pytest.fixture
def hub(redis_client: Redis, store: TaskStore) -> WatchHub:
    return WatchHub(redis_client, store.keys, backlog=BACKLOG)


@pytest.fixture
async def api(redis_url: str, redis_client: Redis, hub: WatchHub) -> AsyncIterator[MonitorClient]:
    async with (
        running_monitor(settings_for(redis_url), redis_client, hub=hub) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield MonitorClient(channel, monitor_service_pb2_grpc.MonitorServiceStub(channel))


async def read(stream: Any) -> Any:
    """The next message (the stubs type stream reads loosely)."""
    return await stream.read()


def counts_of(message: pb.WatchQueuesResponse) -> Any:
    kind = message.WhichOneof("event")
    assert kind is not None
    return getattr(message, kind).state_counts


async def test_watch_sends_snapshot_then_events_then_heartbeats(
    api: MonitorClient, store: TaskStore
) -> None:
    await store.create(NewTask("echo", "before"))
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    first = await read(stream)
    assert first.WhichOneof("event") == "initial_status"
    assert (
        first.initial_status.state_counts.pending,
        first.initial_status.queue_depths.primary,
    ) == (1, 1)
    assert first.initial_status.retry_ratio == pytest.approx(0.3)

    created = await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim("w", 1)
    await store.complete(claim, "done")
    got = await read(stream)
    assert got.WhichOneof("event") == "task_created"
    assert (got.task_created.task_id, got.task_created.task_type) == (created.task_id, "echo")
    assert got.task_created.state_counts.pending == 2
    moves = [(await read(stream)).task_state_changed for _ in range(2)]
    assert [(m.old_state, m.new_state) for m in moves] == [
        (enums.TASK_STATE_PENDING, enums.TASK_STATE_ACTIVE),
        (enums.TASK_STATE_ACTIVE, enums.TASK_STATE_COMPLETED),
    ]
    assert (moves[1].queue_depths.primary, moves[1].state_counts.completed) == (1, 1)
    assert moves[1].HasField("state_counts")
    assert (await read(stream)).WhichOneof("event") == "heartbeat"
    stream.cancel()


async def test_watchers_share_one_subscription_and_leave_cleanly(
    api: MonitorClient, hub: WatchHub, store: TaskStore, redis_client: Redis
) -> None:
    streams = [api.stub.WatchQueues(pb.WatchQueuesRequest()) for _ in range(3)]
    for stream in streams:
        await read(stream)
    assert hub.watchers == 3

    async def one_reader() -> bool:
        clients = await redis_client.client_list()
        return sum(1 for c in clients if c.get("cmd") == "xread") == 1

    await eventually(one_reader, within=10, what="one blocked XREAD shared by the watchers")
    for stream in streams:
        stream.cancel()

    async def all_gone() -> bool:
        return hub.watchers == 0

    await eventually(all_gone, within=60, what="disconnected watchers removed")


async def test_a_slow_watcher_ends_with_exact_counts(api: MonitorClient, store: TaskStore) -> None:
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    await read(stream)
    await store.create_many([NewTask("echo", "x")] * 1000)  # 2000 changes, unread
    claims = await store.claim("w", 500)
    await store.complete_many([(claim, "ok") for claim in claims])
    last = None
    kinds = []
    while (message := await read(stream)).WhichOneof("event") != "heartbeat":
        last = message
        kinds.append(message.WhichOneof("event"))
    assert "initial_status" in kinds, "the watcher should have lagged and resynchronised"
    assert last is not None
    counts = counts_of(last)
    assert (counts.pending, counts.active, counts.completed) == (500, 0, 500)
    status = await store.status()
    assert status.queues.primary == 500
    stream.cancel()


async def test_a_negative_heartbeat_is_refused(api: MonitorClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read(api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=-1)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_watch_task_follows_it_to_completion(api: MonitorClient, store: TaskStore) -> None:
    created = await store.create(NewTask("echo", "x"))
    messages = aiter(api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id)))
    first = await anext(messages)
    assert (first.task.state, first.old_state) == (
        enums.TASK_STATE_PENDING,
        enums.TASK_STATE_UNSPECIFIED,
    )
    await store.create(NewTask("echo", "someone else"))  # not this task: no message
    (claim,) = await store.claim("w", 1)
    active = await anext(messages)
    assert (active.old_state, active.task.state) == (
        enums.TASK_STATE_PENDING,
        enums.TASK_STATE_ACTIVE,
    )
    await store.complete(claim, "done")
    rest = [m async for m in messages]  # the server ends the stream
    assert [(m.old_state, m.task.state) for m in rest] == [
        (enums.TASK_STATE_ACTIVE, enums.TASK_STATE_COMPLETED)
    ]
    assert rest[0].task.result == "done"


async def test_watch_task_of_a_task_already_done_ends_at_once(
    api: MonitorClient, store: TaskStore
) -> None:
    created = await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim("w", 1)
    await store.fail(claim, "bad input", "PermanentError", permanent=True)
    messages = [m async for m in api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id))]
    assert [m.task.state for m in messages] == [enums.TASK_STATE_DLQ]


async def test_watch_task_ends_when_it_is_deleted(api: MonitorClient, store: TaskStore) -> None:
    created = await store.create(NewTask("echo", "x"))
    messages = aiter(api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id)))
    await anext(messages)
    await store.delete(created.task_id)
    rest = [m async for m in messages]
    assert [(m.deleted, m.task.task_id) for m in rest] == [(True, created.task_id)]


@pytest.mark.parametrize(
    ("task_id", "code"),
    [(UNKNOWN_ID, grpc.StatusCode.NOT_FOUND), ("x", grpc.StatusCode.INVALID_ARGUMENT)],
)
async def test_watch_task_refuses_unknown_and_bad_ids(
    api: MonitorClient, task_id: str, code: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read(api.stub.WatchTask(pb.WatchTaskRequest(task_id=task_id)))
    assert caught.value.code() == code


async def past_heartbeats(stream: Any) -> Any:
    """The next message that is not a heartbeat (within 30 of them)."""
    for _ in range(30):
        message = await read(stream)
        if message.WhichOneof("event") != "heartbeat":
            return message
    raise AssertionError("only heartbeats")


async def test_watch_snapshot_carries_the_corrupt_count_and_sends_it_again_when_it_changes(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    """A claim sets an id aside with no event: the watch finds the changed count at
    its next quiet moment and sends a fresh InitialStatus instead of a heartbeat."""
    bad = await store.create(NewTask("echo", "x"))
    await redis_client.hset(store.keys.task(bad.task_id), "retry_count", "many")
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    first = await read(stream)
    assert first.initial_status.corrupt_tasks == 0
    assert (await read(stream)).WhichOneof("event") == "heartbeat"  # unchanged: a heartbeat
    assert await store.claim("w", 1) == []  # set aside in tasks:corrupt, no event
    fresh = await past_heartbeats(stream)  # one may already be on its way
    assert fresh.WhichOneof("event") == "initial_status"
    assert fresh.initial_status.corrupt_tasks == 1
    assert fresh.initial_status.state_counts.pending == 1
    await store.delete(bad.task_id)
    deleted = await read(stream)
    assert deleted.WhichOneof("event") == "task_deleted"
    again = await past_heartbeats(stream)
    assert (again.WhichOneof("event"), again.initial_status.corrupt_tasks) == ("initial_status", 0)
    stream.cancel()
