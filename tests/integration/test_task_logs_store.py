"""Task log lines in real Redis, read over gRPC (GetTaskLogs) and REST: numbered,
bounded in count and size, paged, NOT_FOUND for an unknown task, and gone with
the task (delete and retention share lua/_remove_task.lua)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from redis.asyncio import Redis

from taskflow.store import TaskStore
from taskflow.store.task_logs import MAX_LINE_BYTES, LogLine, TaskLogs
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.gateway_stack import create_task, gateway_stack
from tests.support.stack import SchedulerClient, scheduler, settings_for


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings_for(redis_url), redis_client) as client:
        yield client


async def create(api: SchedulerClient) -> str:
    reply = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", content="x"))
    return reply.task_id


def lines(*messages: str, level: str = "INFO") -> list[LogLine]:
    return [LogLine(datetime.now(UTC), level, "handler", m) for m in messages]


async def test_lines_are_numbered_paged_and_read_after_a_seq(
    api: SchedulerClient, store: TaskStore
) -> None:
    task_id = await create(api)
    logs = TaskLogs(store)
    assert await logs.append(task_id, lines("one", "two")) == 2
    assert await logs.append(task_id, lines("three", level="WARNING")) == 3

    page = await api.stub.GetTaskLogs(pb.GetTaskLogsRequest(task_id=task_id, limit=2))
    assert [(line.seq, line.message) for line in page.lines] == [(1, "one"), (2, "two")]
    assert page.next_after_seq == 2
    assert page.more
    assert not page.truncated
    assert page.lines[0].logger == "handler"
    assert page.lines[0].time.seconds > 0
    rest = await api.stub.GetTaskLogs(pb.GetTaskLogsRequest(task_id=task_id, after_seq=2))
    assert [(line.seq, line.level, line.message) for line in rest.lines] == [
        (3, "WARNING", "three")
    ]
    assert rest.next_after_seq == 3
    assert not rest.more
    none = await api.stub.GetTaskLogs(pb.GetTaskLogsRequest(task_id=task_id, after_seq=3))
    assert not none.lines
    assert none.next_after_seq == 3


async def test_only_the_newest_lines_are_kept_each_cut_to_its_bound(
    api: SchedulerClient, store: TaskStore
) -> None:
    task_id = await create(api)
    logs = TaskLogs(store, max_lines=50)
    for batch in range(3):
        await logs.append(task_id, lines(*(f"line {batch * 40 + i}" for i in range(40))))
    await logs.append(task_id, lines("é" * 5000))
    page = await api.stub.GetTaskLogs(pb.GetTaskLogsRequest(task_id=task_id, limit=1000))
    assert page.truncated  # lines 1..71 were dropped
    assert [line.seq for line in page.lines] == list(range(72, 122))
    assert page.lines[0].message == "line 71"
    assert len(page.lines[-1].message.encode()) <= MAX_LINE_BYTES
    assert page.lines[-1].message.endswith("[cut]")


async def test_unknown_tasks_are_not_found_and_their_lines_are_dropped(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.GetTaskLogs(pb.GetTaskLogsRequest(task_id=unknown))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(Exception, match="does not exist"):
        await TaskLogs(store).append(unknown, lines("late"))
    assert not await redis_client.exists(store.keys.task_logs(unknown))


async def test_the_lines_go_with_the_deleted_task(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    task_id = await create(api)
    await TaskLogs(store).append(task_id, lines("kept until the task goes"))
    assert await redis_client.exists(store.keys.task_logs(task_id))
    await api.stub.DeleteTask(pb.DeleteTaskRequest(task_id=task_id))
    assert not await redis_client.exists(store.keys.task_logs(task_id))


async def test_rest_serves_the_logs_through_the_transcoder(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    async with gateway_stack(redis_url, redis_client, executor=False) as stack:
        task_id = await create_task(stack.http, "echo", "x")
        await TaskLogs(store).append(task_id, lines("hello", "world"))
        reply = await stack.http.get(f"/api/v1/tasks/{task_id}/logs", params={"after_seq": 1})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        # proto JSON: int64 values are strings
        assert [(line["seq"], line["message"]) for line in body["lines"]] == [("2", "world")]
        assert body["next_after_seq"] == "2"
        assert body["truncated"] is False
        missing = await stack.http.get(f"/api/v1/tasks/{uuid.uuid4()}/logs")
        assert missing.status_code == 404
