"""ExecutorService: status of this executor's workers; pause and resume claiming."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.v1 import executor_service_pb2 as pb
from tests.support.stack import executor, settings_for
from tests.support.waiting import wait_for_state


async def test_pause_holds_new_work_and_resume_releases_it(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    settings = settings_for(redis_url, TASKFLOW_EXECUTOR_ID="exec-a", WORKER_CONCURRENCY=3)
    async with executor(settings, redis_client, free_port()) as stub:
        status = await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())
        assert status.executor_id == "exec-a"
        assert not status.paused
        assert [w.concurrency for w in status.workers] == [3]

        assert (await stub.PauseExecutor(pb.PauseExecutorRequest())).paused
        await asyncio.sleep(1.0)  # every worker has seen the flag (polled twice a second)
        held = (await store.create(NewTask("echo", "wait"))).task_id
        await asyncio.sleep(1.0)
        assert (await store.get(held)).state is TaskState.PENDING
        assert (await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())).paused

        assert not (await stub.ResumeExecutor(pb.ResumeExecutorRequest())).paused
        await wait_for_state(store, held, TaskState.COMPLETED)
        status = await stub.GetExecutorStatus(pb.GetExecutorStatusRequest())
        assert status.workers[0].completed == 1
