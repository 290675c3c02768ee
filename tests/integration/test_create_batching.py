"""The gateway's CreateBatcher against a real scheduler: concurrent creates share
calls, and every caller still gets exactly the answer a call of its own would give."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc import aio
from redis.asyncio import Redis

from services.gateway.batching import CreateBatcher
from services.scheduler.app import running_scheduler
from taskflow.redis_server import free_port
from taskflow.store import TaskState, TaskStore
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc
from tests.support.call_counter import CallCounter, counted_channel
from tests.support.stack import settings_for

NO_METADATA: tuple[tuple[str, str], ...] = ()


@pytest.fixture
async def counted(
    redis_url: str, redis_client: Redis
) -> AsyncIterator[tuple[CreateBatcher, CallCounter]]:
    async with (
        running_scheduler(settings_for(redis_url), redis_client) as server,
        counted_channel(server.address) as (channel, counter),
    ):
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        yield CreateBatcher(stub, timeout=10.0), counter


def summarize(content: str, key: str = "") -> pb.CreateTaskRequest:
    return pb.CreateTaskRequest(task_type="summarize", content=content, idempotency_key=key)


async def test_a_lone_create_goes_out_at_once_as_a_plain_call(
    counted: tuple[CreateBatcher, CallCounter], store: TaskStore
) -> None:
    batcher, counter = counted
    reply = await batcher.create(summarize("one"), NO_METADATA)
    assert reply.created
    assert (await store.get(reply.task_id)).content == "one"
    assert counter.count("SchedulerService/CreateTask") == 1
    assert counter.count("SchedulerService/BatchCreateTasks") == 0


async def test_concurrent_creates_share_calls_and_each_gets_its_own_task(
    counted: tuple[CreateBatcher, CallCounter], store: TaskStore
) -> None:
    batcher, counter = counted
    contents = [f"text {n}" for n in range(60)]
    replies = await asyncio.gather(*(batcher.create(summarize(c), NO_METADATA) for c in contents))
    assert len({r.task_id for r in replies}) == 60
    for content, reply in zip(contents, replies, strict=True):
        assert (await store.get(reply.task_id)).content == content
    batched = counter.count("SchedulerService/BatchCreateTasks")
    calls = counter.count("SchedulerService/CreateTask") + batched
    assert batched >= 1
    assert calls <= 3, counter.calls  # one alone at once, the rest in at most two batches
    assert (await store.status()).states[TaskState.PENDING] == 60


async def test_a_refused_create_fails_alone_and_the_rest_are_created(
    counted: tuple[CreateBatcher, CallCounter], store: TaskStore
) -> None:
    batcher, _ = counted
    contents = ["fine"] * 10 + ["   "] + ["also fine"] * 10
    results = await asyncio.gather(
        *(batcher.create(summarize(c), NO_METADATA) for c in contents), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, aio.AioRpcError)]
    assert len(refused) == 1
    assert refused[0].code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "content must not be empty" in str(refused[0].details())
    assert isinstance(results[10], aio.AioRpcError)
    assert (await store.status()).states[TaskState.PENDING] == 20


async def test_one_idempotency_key_in_one_batch_makes_one_task(
    counted: tuple[CreateBatcher, CallCounter], store: TaskStore
) -> None:
    batcher, _ = counted
    replies = await asyncio.gather(
        *(batcher.create(summarize("same", key="order-7"), NO_METADATA) for _ in range(12))
    )
    assert len({r.task_id for r in replies}) == 1
    assert sum(r.created for r in replies) == 1
    assert (await store.status()).states[TaskState.PENDING] == 1


async def test_every_refused_create_of_a_batch_gets_its_own_refusal(
    counted: tuple[CreateBatcher, CallCounter], store: TaskStore
) -> None:
    batcher, _ = counted
    unknown = pb.CreateTaskRequest(task_type="no-such-type", content="x")
    results = await asyncio.gather(
        *(batcher.create(unknown, NO_METADATA) for _ in range(5)), return_exceptions=True
    )
    assert all(
        isinstance(r, aio.AioRpcError) and r.code() == grpc.StatusCode.INVALID_ARGUMENT
        for r in results
    )
    assert (await store.status()).states.get(TaskState.PENDING, 0) == 0


async def test_a_call_that_cannot_be_made_fails_every_caller_in_it() -> None:
    async with aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        batcher = CreateBatcher(stub, timeout=5.0)
        results = await asyncio.gather(
            *(batcher.create(summarize("x"), NO_METADATA) for _ in range(5)),
            return_exceptions=True,
        )
    assert all(
        isinstance(r, aio.AioRpcError) and r.code() == grpc.StatusCode.UNAVAILABLE for r in results
    ), results
