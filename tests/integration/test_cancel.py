"""Cancel over gRPC (issue 17): PENDING and SCHEDULED at once, ACTIVE through a real
executor process whose handler must see it within a second; counters stay equal
to a SCAN of the hashes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.processes import service_env, start_service
from tests.support.stack import SchedulerClient, scheduler, settings_for
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import wait_for_state


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings_for(redis_url), redis_client) as client:
        yield client


async def create(api: SchedulerClient, task_type: str, **fields: object) -> str:
    request = pb.CreateTaskRequest(task_type=task_type, **fields)  # type: ignore[arg-type]
    return (await api.stub.CreateTask(request)).task_id


async def cancel(api: SchedulerClient, task_id: str) -> pb.CancelTaskResponse:
    return await api.stub.CancelTask(pb.CancelTaskRequest(task_id=task_id))


async def test_pending_and_scheduled_tasks_are_cancelled_at_once(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    pending = await create(api, "echo", content="x")
    scheduled = await create(api, "echo", content="x", delay=Duration(seconds=600))
    for task_id in (pending, scheduled):
        reply = await cancel(api, task_id)
        assert reply.state == enums.TASK_STATE_CANCELLED
    status = await store.status()
    assert (status.queues.primary, status.queues.scheduled) == (0, 0)
    for task_id in (pending, scheduled):
        task = await store.get(task_id)
        assert task.state is TaskState.CANCELLED
        assert task.cancelled_at is not None
        assert task.state_history[-1].state == "CANCELLED"
    assert status.states[TaskState.CANCELLED] == 2
    await assert_counters_match_hashes(redis_client, store)


async def test_a_finished_task_keeps_its_outcome(api: SchedulerClient, store: TaskStore) -> None:
    task_id = await create(api, "echo", content="x")
    (claim,) = await store.claim("w1", 1)
    await store.complete(claim, "done")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await cancel(api, task_id)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await store.get(task_id)).state is TaskState.COMPLETED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await cancel(api, "3b241101-e2bb-4255-8caf-4136c566a962")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_handler_that_returns_before_its_worker_sees_the_cancel_completes(
    api: SchedulerClient, store: TaskStore
) -> None:
    task_id = await create(api, "echo", content="x")
    (claim,) = await store.claim("w1", 1)
    assert (await cancel(api, task_id)).state == enums.TASK_STATE_ACTIVE
    await store.complete(claim, "done")
    task = await store.get(task_id)
    assert (task.state, task.result) == (TaskState.COMPLETED, "done")


async def test_a_running_task_is_stopped_within_a_second(
    api: SchedulerClient,
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    log = tmp_path / "cancelled.log"
    request = pb.CreateTaskRequest(task_type="cancellable", content="60")
    request.metadata.update({"log": str(log)})
    task_id = (await api.stub.CreateTask(request)).task_id
    other = await create(api, "sleepy", content="0.5")
    processes.append(start_service("executor", service_env(redis_url), tmp_path / "executor.log"))
    await wait_for_state(store, task_id, TaskState.ACTIVE, within=30)
    worker = (await store.get(task_id)).worker_id

    asked = time.time()
    reply = await cancel(api, task_id)
    assert reply.state == enums.TASK_STATE_ACTIVE
    await wait_for_state(store, task_id, TaskState.CANCELLED, within=10)

    seen_id, seen_at, flag = log.read_text().split()
    assert seen_id == task_id
    assert flag == "True", "the handler's context did not say it was cancelled"
    assert float(seen_at) - asked < 1.0, "the handler saw the cancel after more than a second"
    task = await store.get(task_id)
    assert [s.state for s in task.state_history] == ["PENDING", "ACTIVE", "CANCELLED"]
    assert task.cancel_requested_at is not None
    assert task.cancelled_at is not None
    assert not await redis_client.zscore(store.keys.leases, task_id)
    assert not await redis_client.sismember(store.keys.worker_active_tasks(worker), task_id)
    assert not await redis_client.exists(store.keys.cancelling)
    await wait_for_state(store, other, TaskState.COMPLETED, within=30)
    await assert_counters_match_hashes(redis_client, store)


async def test_bulk_cancel_by_type(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    doomed = [await create(api, "echo", content="x") for _ in range(3)]
    doomed.append(await create(api, "echo", content="x", delay=Duration(seconds=600)))
    kept = await create(api, "sleepy", content="0")
    reply = await api.stub.CancelTasks(pb.CancelTasksRequest(task_type="echo"))
    assert (reply.cancelled, reply.cancel_requested) == (4, 0)
    for task_id in doomed:
        assert (await store.get(task_id)).state is TaskState.CANCELLED
    assert (await store.get(kept)).state is TaskState.PENDING
    for bad in (
        pb.CancelTasksRequest(),
        pb.CancelTasksRequest(states=[enums.TASK_STATE_COMPLETED]),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api.stub.CancelTasks(bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await assert_counters_match_hashes(redis_client, store)


async def test_bulk_cancel_by_queue_leaves_the_other_queues_alone(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    """More tasks of the other queue than one page of the state index, ahead of the
    doomed ones, so the cancel must page past them."""
    batch = pb.BatchCreateTasksRequest(
        tasks=[pb.CreateTaskRequest(task_type="echo", content="x") for _ in range(520)]
    )
    kept = [t.task_id for t in (await api.stub.BatchCreateTasks(batch)).tasks]
    kept.append(await create(api, "echo", content="x", delay=Duration(seconds=600)))
    doomed = [await create(api, "echo", content="x", queue="emails") for _ in range(3)]
    doomed.append(
        await create(api, "echo", content="x", queue="emails", delay=Duration(seconds=600))
    )
    reply = await api.stub.CancelTasks(pb.CancelTasksRequest(queue="emails"))
    assert (reply.cancelled, reply.cancel_requested) == (4, 0)
    for task_id in doomed:
        assert (await store.get(task_id)).state is TaskState.CANCELLED
    states = {(await store.get(task_id)).state for task_id in kept}
    assert states == {TaskState.PENDING, TaskState.SCHEDULED}
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await api.stub.CancelTasks(pb.CancelTasksRequest(queue="nowhere"))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    default = await api.stub.CancelTasks(pb.CancelTasksRequest(queue="default"))
    assert default.cancelled == len(kept)
    await assert_counters_match_hashes(redis_client, store)
