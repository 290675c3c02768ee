"""The scheduler on its thread-based server (services/scheduler/threaded.py): creates
on the blocking Redis path store exactly what the asyncio path stores, and every
case that path does not serve (a lost function library, a remote worker's type, a
Redis gone away) still gets the asyncio path's answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import duration_pb2, struct_pb2
from grpc import aio
from redis.asyncio import Redis

from services.scheduler.app import running_scheduler
from taskflow.redis_server import BundledRedis, free_port
from taskflow.store import TaskState, TaskStore
from taskflow.store.remote import RemoteQueues
from taskflow.v1 import enums_pb2, scheduler_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import settings_for
from tests.support.waiting import eventually

if TYPE_CHECKING:  # the async stub type exists in the .pyi files only
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub


@pytest.fixture
async def scheduler(
    redis_url: str, redis_client: Redis
) -> AsyncIterator[SchedulerServiceAsyncStub]:
    async with (
        running_scheduler(settings_for(redis_url), redis_client) as server,
        aio.insecure_channel(server.address) as channel,
    ):
        yield scheduler_service_pb2_grpc.SchedulerServiceStub(channel)


async def test_a_lone_create_stores_every_field_it_was_given(
    scheduler: SchedulerServiceAsyncStub, store: TaskStore
) -> None:
    metadata = struct_pb2.Struct()
    metadata.update({"source": "threads", "n": 3})
    request = pb.CreateTaskRequest(
        task_type="echo",
        content="héllo",
        metadata=metadata,
        max_retries=2,
        priority=7,
        idempotency_key="threads-1",
        payload=b"\x00\xffbytes",
        delay=duration_pb2.Duration(seconds=3600),
        retention=duration_pb2.Duration(seconds=60),
    )
    first = await scheduler.CreateTask(request)
    again = await scheduler.CreateTask(request)
    assert (first.created, first.state) == (True, enums_pb2.TASK_STATE_SCHEDULED)
    assert (again.task_id, again.created) == (first.task_id, False)
    task = await store.get(first.task_id)
    assert (task.task_type, task.content, task.metadata) == (
        "echo",
        "héllo",
        {"source": "threads", "n": 3},
    )
    assert (task.max_retries, task.priority, task.state) == (2, 7, TaskState.SCHEDULED)
    assert (task.has_payload, task.payload_size) == (True, 7)
    assert task.run_at is not None
    assert task.run_at - task.created_at > timedelta(minutes=59)


async def test_a_server_that_lost_the_function_library_still_creates(
    scheduler: SchedulerServiceAsyncStub, redis_client: Redis, store: TaskStore
) -> None:
    await scheduler.CreateTask(pb.CreateTaskRequest(task_type="noop", content="before"))
    await redis_client.function_flush()  # as a restart without persistence would
    one = await scheduler.CreateTask(pb.CreateTaskRequest(task_type="noop", content="one"))
    await redis_client.function_flush()
    batch = await scheduler.BatchCreateTasks(
        pb.BatchCreateTasksRequest(
            tasks=[pb.CreateTaskRequest(task_type="noop", content=f"b{n}") for n in range(3)]
        )
    )
    assert (await store.get(one.task_id)).content == "one"
    assert [(await store.get(t.task_id)).content for t in batch.tasks] == ["b0", "b1", "b2"]


async def test_concurrent_creates_after_the_library_was_lost_each_get_their_task(
    scheduler: SchedulerServiceAsyncStub, redis_client: Redis, store: TaskStore
) -> None:
    await redis_client.function_flush()
    contents = [f"c{n}" for n in range(40)]
    replies = await asyncio.gather(
        *(scheduler.CreateTask(pb.CreateTaskRequest(task_type="noop", content=c)) for c in contents)
    )
    assert [(await store.get(r.task_id)).content for r in replies] == contents


async def test_a_remote_workers_type_is_created_in_its_queue(
    scheduler: SchedulerServiceAsyncStub, store: TaskStore
) -> None:
    await RemoteQueues(store).register(["thumbnail"], "images")
    one = await scheduler.CreateTask(pb.CreateTaskRequest(task_type="thumbnail", content="a"))
    batch = await scheduler.BatchCreateTasks(
        pb.BatchCreateTasksRequest(
            tasks=[
                pb.CreateTaskRequest(task_type="thumbnail", content="b"),
                pb.CreateTaskRequest(task_type="noop", content="c"),
            ]
        )
    )
    queues = [(await store.get(t.task_id)).queue_name for t in (one, *batch.tasks)]
    assert queues == ["images", "images", "default"]


async def test_a_redis_gone_away_is_unavailable_then_creates_resume(tmp_path: Path) -> None:
    server = BundledRedis(tmp_path / "redis", port=free_port())
    server.start()
    client = Redis.from_url(server.url)
    request = pb.CreateTaskRequest(task_type="noop", content="x")
    try:
        async with (
            running_scheduler(settings_for(server.url), client) as scheduler,
            aio.insecure_channel(scheduler.address) as channel,
        ):
            stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
            assert (await stub.CreateTask(request)).created
            server.stop()
            for call in (
                stub.CreateTask(request),
                stub.BatchCreateTasks(pb.BatchCreateTasksRequest(tasks=[request])),
            ):
                with pytest.raises(aio.AioRpcError) as caught:
                    await call
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            server.start()

            async def created() -> bool:
                try:
                    return bool((await stub.CreateTask(request)).created)
                except aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    return False

            await eventually(created, what="a create after Redis came back")
    finally:
        await client.aclose()
        server.stop()
