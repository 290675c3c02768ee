"""MonitorService: O(1) snapshots, shared live streams, one task followed to its end,
workers and health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskStore
from taskflow.store.workers import WorkerRegistry
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import monitor_service_pb2 as pb
from tests.support.stack import MonitorClient, monitor, settings_for

UNKNOWN_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"


async def read(stream: Any) -> Any:
    """The next message (the stubs type stream reads loosely)."""
    return await stream.read()


async def rest_of(messages: AsyncIterator[Any]) -> list[Any]:
    """Every message until the server ends the stream."""
    return [message async for message in messages]


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[MonitorClient]:
    async with monitor(settings_for(redis_url), redis_client) as client:
        yield client


async def test_queue_status_is_the_counters(api: MonitorClient, store: TaskStore) -> None:
    await store.create_many([NewTask("echo", "x")] * 5)
    await store.claim("w", 2)
    status = await api.stub.GetQueueStatus(pb.GetQueueStatusRequest())
    assert (status.queues.primary, status.states.pending, status.states.active) == (3, 3, 2)
    assert status.retry_ratio == pytest.approx(0.3)


async def test_watch_sends_snapshot_events_and_heartbeats(
    api: MonitorClient, store: TaskStore, redis_client: Redis
) -> None:
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    first = await read(stream)
    assert first.WhichOneof("event") == "initial_status"
    second_watch = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=1))
    await read(second_watch)
    numsub = await redis_client.pubsub_numsub(store.keys.channel)
    assert numsub[0][1] == 1, "watchers must share one subscription"

    created = await store.create(NewTask("echo", "x"))
    await store.claim("w", 1)
    got = await read(stream)
    assert got.WhichOneof("event") == "task_created"
    assert got.task_created.task_id == created.task_id
    assert got.task_created.state_counts.pending == 1
    moved = (await read(stream)).task_state_changed
    assert (moved.old_state, moved.new_state) == (enums.TASK_STATE_PENDING, enums.TASK_STATE_ACTIVE)
    assert (moved.queue_depths.primary, moved.state_counts.active) == (0, 1)
    assert (await read(stream)).WhichOneof("event") == "heartbeat"
    stream.cancel()
    second_watch.cancel()


async def test_a_slow_watcher_ends_with_exact_counts(api: MonitorClient, store: TaskStore) -> None:
    stream = api.stub.WatchQueues(pb.WatchQueuesRequest(heartbeat_seconds=2))
    await read(stream)
    for _ in range(3):
        await store.create_many([NewTask("echo", "x")] * 1000)  # 3000 events, unread
    last = None
    while True:
        message = await read(stream)
        if message.WhichOneof("event") == "heartbeat":
            break
        last = message
    assert last is not None
    kind = last.WhichOneof("event")
    counts = getattr(last, kind).state_counts
    assert counts.pending == 3000
    stream.cancel()


async def test_watch_task_follows_it_to_the_end(api: MonitorClient, store: TaskStore) -> None:
    created = await store.create(NewTask("echo", "x"))
    messages = aiter(api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id)))
    assert (await anext(messages)).task.state == enums.TASK_STATE_PENDING
    (claim,) = await store.claim("w", 1)
    active = await anext(messages)
    assert (active.old_state, active.task.state) == (
        enums.TASK_STATE_PENDING,
        enums.TASK_STATE_ACTIVE,
    )
    await store.complete(claim, "done")
    last = await rest_of(messages)
    assert [m.task.state for m in last] == [enums.TASK_STATE_COMPLETED]
    assert last[0].task.result == "done"


async def test_watch_task_ends_when_it_is_deleted(api: MonitorClient, store: TaskStore) -> None:
    created = await store.create(NewTask("echo", "x"))
    messages = aiter(api.stub.WatchTask(pb.WatchTaskRequest(task_id=created.task_id)))
    await anext(messages)
    await store.delete(created.task_id)
    assert [m.deleted for m in await rest_of(messages)] == [True]


async def test_watch_task_refuses_unknown_and_bad_ids(api: MonitorClient) -> None:
    for task_id, code in (
        (UNKNOWN_ID, grpc.StatusCode.NOT_FOUND),
        ("x", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await read(api.stub.WatchTask(pb.WatchTaskRequest(task_id=task_id)))
        assert caught.value.code() == code


async def test_workers_healthy_then_stale(api: MonitorClient, store: TaskStore) -> None:
    registry = WorkerRegistry(store.client, store.keys)
    await registry.beat("w-ok", {"pid": 11, "concurrency": 4, "hostname": "h"}, ttl_s=30)
    await registry.beat("w-gone", {"pid": 12}, ttl_s=1)
    await asyncio.sleep(1.3)
    view = await api.stub.ListWorkers(pb.ListWorkersRequest())
    assert (view.total_workers, view.healthy_workers, view.stale_workers) == (2, 1, 1)
    assert view.overall_status == enums.HEALTH_STATUS_DEGRADED
    by_id = {w.worker_id: w for w in view.worker_details}
    assert by_id["w-ok"].status == enums.WORKER_HEALTH_HEALTHY
    assert (by_id["w-ok"].pid, by_id["w-ok"].concurrency) == (11, 4)
    assert by_id["w-gone"].status == enums.WORKER_HEALTH_STALE


async def test_health(api: MonitorClient) -> None:
    reply = await health_pb2_grpc.HealthStub(api.channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    system = await api.stub.GetSystemHealth(pb.GetSystemHealthRequest())
    assert system.components["redis"].status == enums.HEALTH_STATUS_HEALTHY
    assert system.status == enums.HEALTH_STATUS_DEGRADED  # no workers yet


async def test_provider_status_without_a_key(api: MonitorClient) -> None:
    status = await api.stub.GetProviderStatus(pb.GetProviderStatusRequest())
    assert status.status == enums.PROVIDER_STATE_API_KEY_MISSING
    metrics = await api.stub.GetProviderMetrics(pb.GetProviderMetricsRequest(days=3))
    assert len(metrics.days) == 3
