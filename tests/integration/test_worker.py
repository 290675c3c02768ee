"""The worker runtime in-process against a real server: results, retries, time limit."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.executor.failures import TRACEBACK_LIMIT
from services.executor.worker import Worker, WorkerConfig
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.task_logs import TaskLogs
from taskflow.tasks import load_task_modules
from tests.support import tasks
from tests.support.waiting import eventually, wait_for_state


@pytest.fixture(autouse=True)
def _task_types() -> None:
    load_task_modules(["tests.support.tasks"])


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[Worker]:
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await runner


async def test_worker_completes_tasks_and_counts_them(store: TaskStore) -> None:
    created = await store.create_many([NewTask("echo", f"hi {i}") for i in range(50)])
    worker = Worker(store, WorkerConfig(concurrency=4, heartbeat_s=0.2))
    async with running(worker):
        for c in created:
            await wait_for_state(store, c.task_id, TaskState.COMPLETED)
        records = await worker.registry.all()
    assert (await store.get(created[7].task_id)).result == "hi 7"
    assert records[0].stats["completed"] == "50"
    status = await store.status()
    assert status.states[TaskState.COMPLETED] == 50
    assert await worker.registry.all() == []  # left cleanly


async def test_no_more_handlers_run_at_once_than_the_concurrency(store: TaskStore) -> None:
    # A slot frees when its handler returns, before its result is saved (the next
    # claim rides with that save): handlers still never outnumber the slots.
    tasks.OVERLAP.update(now=0, most=0)
    created = await store.create_many([NewTask("overlapping", "0.05") for _ in range(30)])
    async with running(Worker(store, WorkerConfig(concurrency=3))):
        for c in created:
            await wait_for_state(store, c.task_id, TaskState.COMPLETED)
    assert tasks.OVERLAP["most"] == 3


async def test_failures_follow_the_retry_policy(store: TaskStore) -> None:
    doomed = await store.create(NewTask("doomed"))
    crashy = await store.create(NewTask("crashy"))
    async with running(Worker(store, WorkerConfig(concurrency=2))):
        await wait_for_state(store, doomed.task_id, TaskState.DLQ)
        await wait_for_state(store, crashy.task_id, TaskState.SCHEDULED)
    dead = await store.get(doomed.task_id)
    assert dead.error_type == "PermanentError"
    assert dead.error_history[0].state_transition == "ACTIVE -> DLQ"
    retried = await store.get(crashy.task_id)
    assert retried.error_type == "Default"
    assert retried.retry_count == 1
    assert retried.retry_after is not None
    assert retried.scheduled_at is not None
    delay = (retried.retry_after - retried.scheduled_at).total_seconds()
    # Default schedule: 5 s + up to 10% jitter. retry_after is the due time in whole
    # ms (the tasks:scheduled score), scheduled_at has µs: up to 1 ms less is exact.
    assert 5 - 0.001 <= delay <= 5.5 + 0.01


async def test_an_unexpected_exception_keeps_its_class_and_traceback(store: TaskStore) -> None:
    bug = await store.create(NewTask("lookup", "missing"))
    async with running(Worker(store, WorkerConfig(concurrency=1))):
        await wait_for_state(store, bug.task_id, TaskState.SCHEDULED)
    task = await store.get(bug.task_id)
    (record,) = task.error_history
    assert record.error_type == task.error_type == "Default"  # the retry schedule
    assert record.exception == "KeyError"
    assert record.error == task.last_error == "KeyError: 'missing'"
    assert record.traceback.startswith("Traceback (most recent call last)")
    assert "return table[ctx.content]" in record.traceback
    assert record.traceback.endswith("KeyError: 'missing'")
    assert len(record.traceback) <= TRACEBACK_LIMIT
    assert task.retry_after is not None
    assert task.scheduled_at is not None
    delay = (task.retry_after - task.scheduled_at).total_seconds()
    # Default schedule: 5 s + up to 10% jitter. retry_after is the due time in whole
    # ms (the tasks:scheduled score), scheduled_at has µs: up to 1 ms less is exact.
    assert 5 - 0.001 <= delay <= 5.5 + 0.01


async def test_a_traceback_is_kept_to_its_end(store: TaskStore) -> None:
    deep = await store.create(NewTask("recurse", "400"))
    async with running(Worker(store, WorkerConfig(concurrency=1))):
        await wait_for_state(store, deep.task_id, TaskState.SCHEDULED)
    (record,) = (await store.get(deep.task_id)).error_history
    assert record.exception == "ValueError"
    assert len(record.traceback) == TRACEBACK_LIMIT  # cut: 400 frames are far longer
    assert record.traceback.startswith("...")
    assert record.traceback.endswith("ValueError: bottom reached")


async def test_a_move_straight_to_the_dlq_logs_no_retry_delay(
    store: TaskStore, caplog: pytest.LogCaptureFixture
) -> None:
    doomed = await store.create(NewTask("doomed"))
    exhausted = await store.create(NewTask("lookup", "missing", max_retries=0))
    retried = await store.create(NewTask("crashy"))
    caplog.set_level(logging.WARNING, logger="services.executor.worker")
    async with running(Worker(store, WorkerConfig(concurrency=3))):
        for task_id, state in (
            (doomed.task_id, TaskState.DLQ),
            (exhausted.task_id, TaskState.DLQ),
            (retried.task_id, TaskState.SCHEDULED),
        ):
            await wait_for_state(store, task_id, state)
    failed = {
        task_id: r.getMessage()
        for r in caplog.records
        for task_id in (doomed.task_id, exhausted.task_id, retried.task_id)
        if "event=task_failed" in r.getMessage() and task_id in r.getMessage()
    }
    assert "retry_in" not in failed[doomed.task_id]
    assert "retry_in" not in failed[exhausted.task_id]
    assert "exception=KeyError" in failed[exhausted.task_id]
    assert "new_state=SCHEDULED retry_in=" in failed[retried.task_id]


async def test_unreadable_metadata_sends_its_task_alone_to_the_dlq(
    store: TaskStore, redis_client: Redis
) -> None:
    bad = await store.create(NewTask("echo", "bad"))
    await redis_client.hset(store.keys.task(bad.task_id), "metadata", "[1, 2]")
    good = await store.create_many([NewTask("echo", f"hi {i}") for i in range(3)])

    async def bad_in_dlq() -> bool:
        return await redis_client.hget(store.keys.task(bad.task_id), "state") == b"DLQ"

    async with running(Worker(store, WorkerConfig(concurrency=4))):
        for c in good:
            await wait_for_state(store, c.task_id, TaskState.COMPLETED)
        await eventually(bad_in_dlq, what="the task with bad metadata in the DLQ")
    error_type, last_error = await redis_client.hmget(
        store.keys.task(bad.task_id), "error_type", "last_error"
    )
    assert error_type == b"PermanentError"
    assert isinstance(last_error, bytes)
    assert b"malformed metadata" in last_error


async def test_time_limit_ends_in_a_retryable_timeout(store: TaskStore) -> None:
    slow = await store.create(NewTask("sleepy", "30"))
    async with running(Worker(store, WorkerConfig(task_time_limit_s=0.3))):
        await wait_for_state(store, slow.task_id, TaskState.SCHEDULED)
    task = await store.get(slow.task_id)
    assert task.error_type == "NetworkTimeout"
    assert "time limit" in task.last_error


async def test_a_task_stopped_at_its_time_limit_frees_its_slot(store: TaskStore) -> None:
    # The limit is kept by the worker's cancel watch (one look at the running tasks
    # every CANCEL_POLL_S), not by a timer per task: each slow task still ends in a
    # timeout, and the one slot goes on to run the rest.
    slow = await store.create_many([NewTask("sleepy", "30") for _ in range(2)])
    quick = await store.create(NewTask("echo", "after"))
    config = WorkerConfig(concurrency=1, task_time_limit_s=0.2)
    async with running(Worker(store, config)):
        await wait_for_state(store, quick.task_id, TaskState.COMPLETED, within=30)
        for task in slow:
            await wait_for_state(store, task.task_id, TaskState.SCHEDULED, within=30)
    for task in slow:
        assert (await store.get(task.task_id)).error_type == "NetworkTimeout"


async def test_cpu_bound_handlers_do_not_block_the_loop(store: TaskStore) -> None:
    spin = await store.create(NewTask("spin", "1.0"))
    echo = await store.create(NewTask("echo", "quick"))
    async with running(Worker(store, WorkerConfig(concurrency=2))):
        await wait_for_state(store, echo.task_id, TaskState.COMPLETED)
        assert (await store.get(spin.task_id)).state is TaskState.ACTIVE
        await wait_for_state(store, spin.task_id, TaskState.COMPLETED)


async def test_a_stop_mid_drain_saves_every_result_a_handler_returned(store: TaskStore) -> None:
    # A handler's result goes to Redis with its lane's next batch after the handler's
    # own asyncio task has ended: a stop in the middle of a drain still saves each
    # of them (none left ACTIVE: each is COMPLETED or handed back PENDING).
    created = await store.create_many([NewTask("echo", str(i)) for i in range(2000)])
    worker = Worker(store, WorkerConfig(concurrency=32))
    async with running(worker):

        async def some_completed() -> bool:
            return (await store.status()).states[TaskState.COMPLETED] >= 100

        await eventually(some_completed, within=60, what="a hundred completions")
    status = await store.status()
    assert status.states[TaskState.ACTIVE] == 0
    assert status.states[TaskState.COMPLETED] + status.states[TaskState.PENDING] == len(created)


async def test_a_cpu_bound_handler_reports_progress_and_logs_from_its_thread(
    store: TaskStore,
) -> None:
    task = await store.create(NewTask("threaded_reporter"))
    async with running(Worker(store, WorkerConfig())):
        await wait_for_state(store, task.task_id, TaskState.COMPLETED)
    done = await store.get(task.task_id)
    assert (done.progress, done.progress_message) == (0.5, "halfway")
    page = await TaskLogs(store).read(task.task_id)
    assert [line.message for line in page.lines] == ["from the handler's thread"]


async def test_stop_hands_unfinished_work_back_at_once(store: TaskStore) -> None:
    created = await store.create_many([NewTask("sleepy", "60") for _ in range(3)])
    worker = Worker(store, WorkerConfig(concurrency=3, shutdown_grace_s=0.2))
    async with running(worker):
        for c in created:
            await wait_for_state(store, c.task_id, TaskState.ACTIVE)
    for c in created:
        task = await store.get(c.task_id)
        assert task.state is TaskState.PENDING
        assert task.retry_count == 0
    status = await store.status()
    assert status.queues.primary == 3
    assert status.states[TaskState.ACTIVE] == 0
