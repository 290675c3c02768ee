"""Executors as real processes: SIGKILL loses nothing, SIGTERM hands work back."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import NewTask, QueueName, TaskState, TaskStore
from tests.support.processes import service_env, start_service
from tests.support.stack import scheduler, settings_for
from tests.support.waiting import eventually


async def states(store: TaskStore, ids: list[str]) -> Counter[TaskState]:
    return Counter([(await store.get(task_id)).state for task_id in ids])


def runs(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(task_id, int(pid)) for task_id, pid in (line.split() for line in log.open())]


async def test_sigkill_mid_work_loses_nothing(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    log = tmp_path / "runs.log"
    tasks = [NewTask("tally", "0.3", metadata={"log": str(log)}) for _ in range(30)]
    ids = [c.task_id for c in await store.create_many(tasks)]
    env = service_env(redis_url, TASKFLOW_LEASE_SECONDS=1, WORKER_CONCURRENCY=4)
    # A scheduler requeues what the killed executor held once its lease expires.
    async with scheduler(settings_for(redis_url, TASKFLOW_LEASE_SECONDS=1), redis_client):
        first = start_service("executor", env, tmp_path / "first.log")
        processes.append(first)

        async def some_done_some_held() -> bool:
            counts = await states(store, ids)
            return counts[TaskState.COMPLETED] >= 5 and counts[TaskState.ACTIVE] >= 1

        await eventually(some_done_some_held, within=60, what="executor mid-work")
        first.send_signal(signal.SIGKILL)
        first.wait()
        acknowledged = {i for i in ids if (await store.get(i)).state is TaskState.COMPLETED}
        held = {i for i in ids if (await store.get(i)).state is TaskState.ACTIVE}
        assert held, "the killed executor held no task: the test proves nothing"

        second = start_service("executor", env, tmp_path / "second.log")
        processes.append(second)

        async def all_done() -> bool:
            return (await states(store, ids))[TaskState.COMPLETED] == len(ids)

        await eventually(all_done, within=120, what="every task completed")
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 60) == 0

    by_second = [task_id for task_id, pid in runs(log) if pid == second.pid]
    assert not acknowledged & set(by_second), "a task ran again after its completion"
    assert held <= set(by_second), "tasks held by the killed executor were not rerun"
    status = await store.status()
    assert status.states[TaskState.COMPLETED] == len(ids)
    assert sum(status.states.values()) == len(ids)
    for task_id in held:
        task = await store.get(task_id)
        assert task.error_history[-1].error_type == "WorkerLost"


async def test_sigterm_finishes_short_work_and_hands_back_the_rest(
    redis_url: str,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    short = (await store.create(NewTask("sleepy", "0.5"))).task_id
    long = (await store.create(NewTask("sleepy", "30"))).task_id
    queued = [c.task_id for c in await store.create_many([NewTask("sleepy", "30")] * 5)]
    env = service_env(
        redis_url, WORKER_CONCURRENCY=2, TASKFLOW_SHUTDOWN_GRACE=2, TASKFLOW_LEASE_SECONDS=60
    )
    executor = start_service("executor", env, tmp_path / "executor.log")
    processes.append(executor)

    async def both_running() -> bool:
        counts = await states(store, [short, long])
        return counts[TaskState.ACTIVE] == 2

    await eventually(both_running, within=60, what="two tasks running")
    executor.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(executor.wait, 60) == 0

    # No scheduler runs here: nothing but the executor itself can have done this.
    assert (await store.get(short)).state is TaskState.COMPLETED
    handed_back = await store.get(long)
    assert handed_back.state is TaskState.PENDING
    assert handed_back.retry_count == 0
    assert (await states(store, queued))[TaskState.PENDING] == len(queued)
    status = await store.status()
    assert status.states[TaskState.ACTIVE] == 0
    assert status.queues.primary == 1 + len(queued)
    heads = await store.queue_heads(QueueName.PRIMARY, limit=1)
    assert heads == [long], "handed-back work goes to the head of its queue"
