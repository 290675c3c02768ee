"""The monitor's stream reader pauses while no watch waits for events
(services/monitor/hub.py): an idle monitor makes no stream read per event, nor a
watch of a finished task; a watch opened after a pause still gets every event after
its snapshot, and none its snapshot already holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from redis.asyncio import Redis

from services.monitor.app import running_monitor
from services.monitor.hub import WatchHub
from taskflow.store import NewTask, TaskStore
from taskflow.store.event_stream import REPLAY_PAGE
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1 import monitor_service_pb2_grpc
from tests.support.stack import MonitorClient, settings_for
from tests.support.waiting import eventually


@pytest.fixture
def hub(redis_client: Redis, store: TaskStore) -> WatchHub:
    return WatchHub(redis_client, store.keys)


@pytest.fixture
async def api(redis_url: str, redis_client: Redis, hub: WatchHub) -> AsyncIterator[MonitorClient]:
    async with (
        running_monitor(settings_for(redis_url), redis_client, hub=hub) as server,
        grpc.aio.insecure_channel(server.address) as channel,
    ):
        yield MonitorClient(channel, monitor_service_pb2_grpc.MonitorServiceStub(channel))


async def stream_reads(client: Redis) -> int:
    """XREAD calls the server has answered so far."""
    stats: dict[str, Any] = await client.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


async def paused(api: MonitorClient, hub: WatchHub) -> None:
    """Open a watch and close it, then wait until the reader has stopped reading."""
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest())
    await read(stream)
    stream.cancel()

    async def reader_paused() -> bool:
        return hub.watchers == 0 and hub.paused

    await eventually(reader_paused, within=60, what="the stream reader paused")


async def read(stream: Any) -> Any:
    """The next message (the stubs type stream reads loosely)."""
    return await stream.read()


def counts_of(message: pb.WatchQueuesResponse) -> Any:
    kind = message.WhichOneof("event")
    assert kind is not None
    return getattr(message, kind).state_counts


async def next_event(stream: Any) -> Any:
    """The next message that is not a heartbeat."""
    while (message := await read(stream)).WhichOneof("event") == "heartbeat":
        pass
    return message


async def test_an_unwatched_monitor_reads_no_event(
    api: MonitorClient, hub: WatchHub, store: TaskStore, redis_client: Redis
) -> None:
    await paused(api, hub)
    before = await stream_reads(redis_client)
    for _ in range(20):  # each its own stream entry: 20 reads for a reader that reads on
        created = await store.create(NewTask("echo", "x"))
        (claim,) = await store.claim("w", 1)
        await store.complete(claim, "ok")
    assert await stream_reads(redis_client) == before
    # Watching a task that has finished: its snapshot says so, no stream read.
    done = [m async for m in api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id))]
    assert [m.task.state for m in done] == [enums.TASK_STATE_COMPLETED]
    assert await stream_reads(redis_client) == before
    # A watch opened now still follows a task to its end.
    created = await store.create(NewTask("echo", "y"))
    messages = aiter(api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id)))
    assert (await anext(messages)).task.state == enums.TASK_STATE_PENDING
    (claim,) = await store.claim("w", 1)
    await store.complete(claim, "done")
    states = [m.task.state async for m in messages]
    assert states[-1] == enums.TASK_STATE_COMPLETED


async def test_a_watch_after_a_pause_gets_what_came_after_its_snapshot_only(
    api: MonitorClient, hub: WatchHub, store: TaskStore, redis_client: Redis
) -> None:
    await paused(api, hub)
    before = await store.create(NewTask("echo", "while no one watched"))
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    snapshot = await read(stream)
    assert snapshot.WhichOneof("event") == "initial_status"
    assert snapshot.initial_status.state_counts.pending == 1  # it holds `before`
    after = await store.create(NewTask("echo", "watched"))
    event = await next_event(stream)
    # `before`'s task_created, read after the pause, is not sent again.
    assert (event.WhichOneof("event"), event.task_created.task_id) == (
        "task_created",
        after.task_id,
    )
    assert event.task_created.state_counts.pending == 2
    assert before.task_id != after.task_id
    stream.cancel()


async def test_a_watch_after_a_long_pause_resynchronises(
    api: MonitorClient, hub: WatchHub, store: TaskStore, redis_client: Redis
) -> None:
    await paused(api, hub)
    backlog = {(await store.create(NewTask("echo", "x"))).task_id for _ in range(REPLAY_PAGE + 10)}
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    assert (await read(stream)).WhichOneof("event") == "initial_status"
    await store.create(NewTask("echo", "last"))
    # The reader, a page and more behind, starts from the newest event: the watch
    # resynchronises (a second snapshot), then shows every task, none of those
    # created before it opened as a new event.
    kinds = []
    async with asyncio.timeout(60):
        while True:
            message = await next_event(stream)
            kind = message.WhichOneof("event")
            kinds.append(kind)
            if kind == "task_created":
                assert message.task_created.task_id not in backlog
            if counts_of(message).pending == REPLAY_PAGE + 11:
                break
    assert "initial_status" in kinds
    assert set(kinds) <= {"initial_status", "task_created"}
    stream.cancel()
