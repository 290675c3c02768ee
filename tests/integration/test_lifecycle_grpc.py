"""The whole task lifecycle through SchedulerService, with a real executor working."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

import pytest
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.settings import Settings
from taskflow.store import TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import SchedulerClient, executor, scheduler, settings_for
from tests.support.waiting import eventually

State: TypeAlias = enums.TaskState.ValueType


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return settings_for(redis_url)


@pytest.fixture
async def api(settings: Settings, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings, redis_client) as client:
        yield client


async def state_of(api: SchedulerClient, task_id: str) -> State:
    return (await api.stub.GetTask(pb.GetTaskRequest(task_id=task_id))).task.state


async def wait_state(api: SchedulerClient, task_id: str, state: State, within: float = 10) -> None:
    async def reached() -> bool:
        return await state_of(api, task_id) == state

    await eventually(reached, within=within, what=f"{task_id} in {enums.TaskState.Name(state)}")


async def counts(store: TaskStore) -> dict[str, int]:
    status = await store.status()
    return {state.value: n for state, n in status.states.items() if n}


async def test_create_run_complete(
    api: SchedulerClient, settings: Settings, redis_client: Redis, store: TaskStore
) -> None:
    created = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", content="hello"))
    assert created.state == enums.TASK_STATE_PENDING
    assert await counts(store) == {"PENDING": 1}
    async with executor(settings, redis_client, free_port()):
        await wait_state(api, created.task_id, enums.TASK_STATE_COMPLETED)
    task = (await api.stub.GetTask(pb.GetTaskRequest(task_id=created.task_id))).task
    assert task.result == "hello"
    assert [enums.TaskState.Name(s.state) for s in task.state_history] == [
        "TASK_STATE_PENDING",
        "TASK_STATE_ACTIVE",
        "TASK_STATE_COMPLETED",
    ]
    assert task.HasField("completed_at")
    assert await counts(store) == {"COMPLETED": 1}


async def test_transient_failures_retry_then_land_in_the_dlq_and_come_back(
    api: SchedulerClient, settings: Settings, redis_client: Redis, store: TaskStore
) -> None:
    request = pb.CreateTaskRequest(task_type="flaky", max_retries=2)
    request.metadata.update({"succeed_after": 99})
    created = await api.stub.CreateTask(request)
    async with executor(settings, redis_client, free_port()):
        await wait_state(api, created.task_id, enums.TASK_STATE_DLQ)
        task = (await api.stub.GetTask(pb.GetTaskRequest(task_id=created.task_id))).task
        assert task.retry_count == 2
        assert [e.state_transition for e in task.error_history] == [
            "ACTIVE -> SCHEDULED",
            "ACTIVE -> SCHEDULED",
            "ACTIVE -> DLQ",
        ]
        assert task.error_type == "NetworkTimeout"
        states = [
            enums.TaskState.Name(s.state).removeprefix("TASK_STATE_") for s in task.state_history
        ]
        assert states[:5] == ["PENDING", "ACTIVE", "SCHEDULED", "PENDING", "ACTIVE"]
        assert await counts(store) == {"DLQ": 1}
        dlq = await api.stub.ListDlqTasks(pb.ListDlqTasksRequest())
        assert [t.task_id for t in dlq.tasks] == [created.task_id]

        retried = await api.stub.RetryTask(
            pb.RetryTaskRequest(task_id=created.task_id, reset_retry_count=True)
        )
        assert retried.state == enums.TASK_STATE_PENDING
        await wait_state(api, created.task_id, enums.TASK_STATE_DLQ)
    assert await counts(store) == {"DLQ": 1}


async def test_flaky_task_recovers_through_the_retry_queue(
    api: SchedulerClient, settings: Settings, redis_client: Redis, store: TaskStore
) -> None:
    request = pb.CreateTaskRequest(task_type="flaky")
    request.metadata.update({"succeed_after": 1})
    created = await api.stub.CreateTask(request)
    async with executor(settings, redis_client, free_port()):
        await wait_state(api, created.task_id, enums.TASK_STATE_COMPLETED)
    task = (await api.stub.GetTask(pb.GetTaskRequest(task_id=created.task_id))).task
    assert (task.result, task.retry_count) == ("recovered", 1)
    assert await counts(store) == {"COMPLETED": 1}


async def test_permanent_failure_goes_to_the_dlq_at_once(
    api: SchedulerClient, settings: Settings, redis_client: Redis, store: TaskStore
) -> None:
    created = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="doomed"))
    async with executor(settings, redis_client, free_port()):
        await wait_state(api, created.task_id, enums.TASK_STATE_DLQ)
    task = (await api.stub.GetTask(pb.GetTaskRequest(task_id=created.task_id))).task
    assert (task.retry_count, task.error_type) == (0, "PermanentError")
    assert task.HasField("dlq_at")
    heads = await api.stub.ListQueueTasks(pb.ListQueueTasksRequest(queue_name="dlq"))
    assert list(heads.task_ids) == [created.task_id]

    deleted = await api.stub.DeleteTask(pb.DeleteTaskRequest(task_id=created.task_id))
    assert created.task_id in deleted.message
    assert await counts(store) == {}
    assert await redis_client.exists(store.keys.dlq_task(created.task_id)) == 0


async def test_batch_and_idempotent_creation(api: SchedulerClient, store: TaskStore) -> None:
    batch = await api.stub.BatchCreateTasks(
        pb.BatchCreateTasksRequest(
            tasks=[pb.CreateTaskRequest(task_type="echo", content=str(i)) for i in range(25)]
        )
    )
    assert len(batch.tasks) == 25
    heads = await api.stub.ListQueueTasks(pb.ListQueueTasksRequest(queue_name="primary", limit=3))
    assert list(heads.task_ids) == [t.task_id for t in batch.tasks[:3]]  # FIFO

    first = await api.stub.CreateSummarizeTask(
        pb.CreateSummarizeTaskRequest(content="Some text.", idempotency_key="order-7")
    )
    again = await api.stub.CreateSummarizeTask(
        pb.CreateSummarizeTaskRequest(content="Some text.", idempotency_key="order-7")
    )
    assert (first.created, again.created) == (True, False)
    assert again.task_id == first.task_id
    assert await counts(store) == {"PENDING": 26}


async def test_listing_filters_and_pages(api: SchedulerClient) -> None:
    for i in range(7):
        await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", content=str(i)))
    await api.stub.CreateTask(pb.CreateTaskRequest(task_type="sleepy", content="0"))
    page = await api.stub.ListTasks(
        pb.ListTasksRequest(task_type="echo", page=2, page_size=3, sort_order=enums.SORT_ORDER_ASC)
    )
    assert (page.total_items, page.total_pages, page.page) == (7, 3, 2)
    assert [t.content for t in page.tasks] == ["3", "4", "5"]
    summaries = await api.stub.ListTaskSummaries(
        pb.ListTaskSummariesRequest(status=enums.TASK_STATE_PENDING, page_size=100)
    )
    assert summaries.total_items == 8
    assert summaries.status == enums.TASK_STATE_PENDING
    one = summaries.tasks[0]
    by_prefix = await api.stub.ListTasks(pb.ListTasksRequest(task_id=one.task_id[:8]))
    assert one.task_id in [t.task_id for t in by_prefix.tasks]


async def test_bulk_cleanup_operations(
    api: SchedulerClient, settings: Settings, redis_client: Redis, store: TaskStore
) -> None:
    doomed = [
        (await api.stub.CreateTask(pb.CreateTaskRequest(task_type="doomed"))).task_id
        for _ in range(4)
    ]
    await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", content="x"))
    async with executor(settings, redis_client, free_port()):
        for task_id in doomed:
            await wait_state(api, task_id, enums.TASK_STATE_DLQ)
        await wait_state(api, doomed[0], enums.TASK_STATE_DLQ)
    retried = await api.stub.RetryAllDlqTasks(pb.RetryAllDlqTasksRequest())
    assert retried.retried == 4
    assert (await store.status()).queues.retry == 4
    cleaned = await api.stub.CleanupTasks(
        pb.CleanupTasksRequest(states=[enums.TASK_STATE_COMPLETED])
    )
    assert cleaned.deleted == 1
    purged = await api.stub.PurgeDlq(pb.PurgeDlqRequest())
    assert purged.purged == 0
    assert await counts(store) == {"PENDING": 4}
