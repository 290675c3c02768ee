"""The gateway's shared queue stream against a real monitor: one WatchQueues call
for many clients, a joining client starts from the current figures, and a client
that falls behind is resynchronised with a snapshot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio
from redis.asyncio import Redis

from services.gateway.batching import Metadata
from services.gateway.queue_stream import QueueStreams
from services.monitor.app import running_monitor
from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskStore
from taskflow.v1 import monitor_service_pb2 as monitor_pb
from taskflow.v1 import monitor_service_pb2_grpc
from tests.support.call_counter import CallCounter, counted_channel
from tests.support.stack import settings_for

NO_METADATA: tuple[tuple[str, str], ...] = ()
WAIT_S = 60.0  # a loaded machine may take long; a passing test never waits it out
Json = dict[str, Any]


def streams_on(channel: aio.Channel, backlog: int = 1000) -> QueueStreams:
    stub = monitor_service_pb2_grpc.MonitorServiceStub(channel)

    def open_watch(metadata: Metadata, resume: str) -> Any:
        request = monitor_pb.WatchQueuesRequest(heartbeat_seconds=30, resume_after=resume)
        return stub.WatchQueues(request, metadata=metadata)

    return QueueStreams(open_watch, backlog)


@pytest.fixture
async def monitor(
    redis_url: str, redis_client: Redis
) -> AsyncIterator[tuple[aio.Channel, CallCounter]]:
    async with (
        running_monitor(settings_for(redis_url), redis_client) as server,
        counted_channel(server.address) as (channel, counter),
    ):
        yield channel, counter


async def next_event(events: AsyncGenerator[str, None]) -> Json:
    """The next event; one that moves the figures comes in the same text as the
    `queue_update` holding them, which must match it."""
    text = await asyncio.wait_for(anext(events), WAIT_S)
    assert text.startswith("data: "), text
    assert text.endswith("\n\n"), text
    # each event's `id:` line is checked by tests/e2e/test_event_replay_processes.py
    without_ids = "\n".join(line for line in text.split("\n") if not line.startswith("id: "))
    first, *rest = without_ids.removesuffix("\n\n").split("\n\n")
    event: Json = json.loads(first[len("data: ") :])
    if rest:
        [update_text] = rest
        update = json.loads(update_text[len("data: ") :])
        assert update["type"] == "queue_update"
        assert update["state_counts"] == event["state_counts"]
    return event


async def until_pending(events: AsyncGenerator[str, None], count: int) -> list[Json]:
    """The events read until one shows `count` PENDING tasks."""
    received = [await next_event(events)]
    while received[-1]["state_counts"]["PENDING"] < count:
        received.append(await next_event(events))
    return received


async def test_clients_share_one_watch_and_each_sees_every_event(
    monitor: tuple[aio.Channel, CallCounter], store: TaskStore
) -> None:
    channel, counter = monitor
    streams = streams_on(channel)
    clients = [await streams.open(NO_METADATA) for _ in range(5)]
    for events in clients:
        assert (await next_event(events))["type"] == "initial_status"
    created = await store.create(NewTask("echo", "hi"))
    for events in clients:
        event = await next_event(events)
        assert event["type"] == "task_created"
        assert event["task_id"] == created.task_id
        assert event["state_counts"]["PENDING"] == 1
        assert event["retry_ratio"] == pytest.approx(0.3)
    assert counter.count("MonitorService/WatchQueues") == 1
    for events in clients:
        await events.aclose()
    await streams.close()


async def test_a_joining_client_starts_from_the_current_figures(
    monitor: tuple[aio.Channel, CallCounter], store: TaskStore
) -> None:
    channel, _ = monitor
    streams = streams_on(channel)
    first = await streams.open(NO_METADATA)
    await next_event(first)
    await store.create_many([NewTask("echo", str(n)) for n in range(3)])
    for _ in range(3):
        await next_event(first)
    late = await streams.open(NO_METADATA)
    initial = await next_event(late)
    assert initial["type"] == "initial_status"
    assert initial["state_counts"]["PENDING"] == 3
    assert initial["queue_depths"]["primary"] == 3
    # named_queues and corrupt_tasks: ours, additions to the original's snapshot.
    assert set(initial) == {
        "type", "queue_depths", "state_counts", "retry_ratio", "timestamp", "named_queues",
        "corrupt_tasks",
    }  # fmt: skip
    await first.aclose()
    await late.aclose()
    await streams.close()


async def test_the_watch_ends_with_its_last_client_and_reopens_for_the_next(
    monitor: tuple[aio.Channel, CallCounter],
) -> None:
    channel, counter = monitor
    streams = streams_on(channel)
    events = await streams.open(NO_METADATA)
    await next_event(events)
    await events.aclose()
    assert streams.watches == {}
    again = await streams.open(NO_METADATA)
    assert (await next_event(again))["type"] == "initial_status"
    assert counter.count("MonitorService/WatchQueues") == 2
    await again.aclose()
    await streams.close()


async def test_a_client_that_falls_behind_gets_a_snapshot_instead_of_its_backlog(
    monitor: tuple[aio.Channel, CallCounter], store: TaskStore
) -> None:
    channel, _ = monitor
    streams = streams_on(channel, backlog=3)
    slow = await streams.open(NO_METADATA)
    keeping_up = await streams.open(NO_METADATA)
    await next_event(keeping_up)
    for n in range(10):  # one by one: each event then carries a count of its own
        await store.create(NewTask("echo", str(n)))
    await until_pending(keeping_up, 10)  # by now every event reached the slow client's queue
    received = await until_pending(slow, 10)
    assert received[0]["type"] == "initial_status"  # a snapshot replaced the backlog
    assert len(received) < 10, received
    await store.create(NewTask("echo", "one more"))
    after = (await until_pending(slow, 11))[-1]
    assert after["type"] == "task_created"  # and it keeps up again
    await slow.aclose()
    await keeping_up.aclose()
    await streams.close()


async def test_a_monitor_that_cannot_be_reached_is_an_error_at_open() -> None:
    async with aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        streams = streams_on(channel)
        with pytest.raises(aio.AioRpcError) as raised:
            await streams.open(NO_METADATA)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert streams.watches == {}
