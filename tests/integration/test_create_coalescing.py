"""The scheduler's unary creates share store calls when they arrive together
(services/scheduler/coalescing.py): fewer script runs than creates, and every
caller still gets exactly the task a call of its own would have made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from grpc import aio
from redis.asyncio import Redis

from services.scheduler.app import running_scheduler
from taskflow.store import TaskState, TaskStore
from taskflow.v1 import enums_pb2, scheduler_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import settings_for

if TYPE_CHECKING:  # the async stub type exists in the .pyi files only
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub

CONCURRENT = 200
PAUSE_MS = 1500


@pytest.fixture
async def scheduler(
    redis_url: str, redis_client: Redis
) -> AsyncIterator[SchedulerServiceAsyncStub]:
    async with (
        running_scheduler(settings_for(redis_url), redis_client) as server,
        aio.insecure_channel(server.address) as channel,
    ):
        yield scheduler_service_pb2_grpc.SchedulerServiceStub(channel)


async def script_runs(client: Redis) -> int:
    stats = await client.info("commandstats")
    # FCALL of the function library; EVALSHA on a server without functions.
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("fcall", "evalsha"))


async def test_concurrent_creates_share_script_runs_and_each_gets_its_own_task(
    scheduler: SchedulerServiceAsyncStub, redis_client: Redis, store: TaskStore
) -> None:
    contents = [f"text {n}" for n in range(CONCURRENT)]
    before = await script_runs(redis_client)
    # Redis holds scripts back for a while (CLIENT PAUSE WRITE): the first create's
    # store call stays under way, so the creates arriving meanwhile must share runs,
    # however fast or slow this machine is (unpaused, a quiet machine may finish each
    # create before the next arrives, and nothing would show).
    await redis_client.client_pause(PAUSE_MS, all=False)
    replies = await asyncio.gather(
        *(scheduler.CreateTask(pb.CreateTaskRequest(task_type="noop", content=c)) for c in contents)
    )
    runs = await script_runs(redis_client) - before
    assert len({r.task_id for r in replies}) == CONCURRENT
    assert all(r.created and r.state == enums_pb2.TASK_STATE_PENDING for r in replies)
    for content, reply in zip(contents, replies, strict=True):
        task = await store.get(reply.task_id)
        assert (task.content, task.state) == (content, TaskState.PENDING)
    # One run per create would be CONCURRENT; the scheduler's own duties add a few.
    assert runs < CONCURRENT * 3 // 4, runs


async def test_concurrent_creates_with_one_idempotency_key_make_one_task(
    scheduler: SchedulerServiceAsyncStub,
) -> None:
    request = pb.CreateTaskRequest(task_type="noop", content="once", idempotency_key="k-19c")
    replies = await asyncio.gather(*(scheduler.CreateTask(request) for _ in range(30)))
    assert len({r.task_id for r in replies}) == 1
    assert sum(r.created for r in replies) == 1
