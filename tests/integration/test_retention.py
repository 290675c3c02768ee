"""Retention against real Redis and a real scheduler: terminal tasks expire after
their own retention, else their type's, else RETENTION_SECONDS (default: kept
forever); expiry removes everything, so the counters still equal a SCAN of the
hashes; a task sent back from the DLQ no longer expires."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import scheduler, settings_for
from tests.support.truth import assert_counters_match_hashes, states_by_scan
from tests.support.waiting import eventually


async def test_terminal_tasks_expire_by_their_retention_and_counters_stay_true(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    async with scheduler(settings_for(redis_url), redis_client) as api:

        async def create(task_type: str, retention: Duration | None = None) -> str:
            request = pb.CreateTaskRequest(task_type=task_type, content="x", retention=retention)
            return (await api.stub.CreateTask(request)).task_id

        own = [await create("echo", Duration(seconds=1)) for _ in range(40)]
        typed = [await create("short_lived") for _ in range(20)]
        forever = [await create("echo") for _ in range(20)]
        zero = await create("short_lived", Duration(seconds=0))  # its own 0 beats the type's
        running = await create("echo", Duration(seconds=1))  # never ends: never expires
        shown = (await api.stub.GetTask(pb.GetTaskRequest(task_id=own[0]))).task
        assert shown.retention.seconds == 1
        assert not (await api.stub.GetTask(pb.GetTaskRequest(task_id=forever[0]))).task.HasField(
            "retention"
        )

        claims = {c.task_id: c for c in await store.claim("w1", 200)}
        for task_id in own[:20] + typed + forever + [zero]:
            await store.complete(claims[task_id], "done")
        for task_id in own[20:30]:
            await store.fail(claims[task_id], "no", "Permanent", permanent=True)
        revived = own[30]
        await store.fail(claims[revived], "no", "Permanent", permanent=True)
        for task_id in own[31:]:
            await store.cancel(task_id)
            await store.cancelled(claims[task_id])
        await store.retry(revived)  # DLQ -> PENDING: no longer expires

        async def expired() -> bool:
            truth = await states_by_scan(redis_client, store)
            return sum(truth.values()) == len(forever) + 3

        await eventually(expired, within=30, what="the terminal tasks with a retention expired")
        for task_id in (own[0], typed[0], own[25], own[35]):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await api.stub.GetTask(pb.GetTaskRequest(task_id=task_id))
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    assert (await store.get(zero)).state is TaskState.COMPLETED
    assert (await store.get(running)).state is TaskState.ACTIVE
    assert (await store.get(revived)).state is TaskState.PENDING
    assert await redis_client.zcard(store.keys.expiry) == 0
    assert await redis_client.llen(store.keys.dlq) == 0
    assert await redis_client.zcard(store.keys.index_all) == len(forever) + 3
    await assert_counters_match_hashes(redis_client, store)


async def test_the_global_retention_applies_when_neither_task_nor_type_sets_one(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    settings = settings_for(redis_url, RETENTION_SECONDS=3600)
    async with scheduler(settings, redis_client) as api:
        plain = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", content="x"))
        typed = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="short_lived"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await api.stub.CreateTask(
                pb.CreateTaskRequest(task_type="echo", retention=Duration(seconds=-1))
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await store.get(plain.task_id)).retention_s == 3600
    assert (await store.get(typed.task_id)).retention_s == 1
    await assert_counters_match_hashes(redis_client, store)


async def test_a_malformed_expiring_task_is_set_aside_and_the_others_still_expire(
    redis_client: Redis, store: TaskStore
) -> None:
    created = await store.create_many([NewTask("echo", "x", retention_s=1) for _ in range(3)])
    claims = await store.claim("w1", 3)
    for claim in claims:
        await store.complete(claim, "done")
    broken, *healthy = [c.task_id for c in created]
    await redis_client.hset(store.keys.task(broken), "retry_count", "many")

    async def expired() -> bool:
        await store.expire_due()
        return await redis_client.zcard(store.keys.expiry) == 0

    # Before, the malformed one failed every call, so none of the batch expired, ever.
    await eventually(expired, within=30, what="the expiry set emptied")
    assert await redis_client.lrange(store.keys.corrupt, 0, -1) == [broken.encode()]
    for task_id in healthy:
        assert not await redis_client.exists(store.keys.task(task_id))
