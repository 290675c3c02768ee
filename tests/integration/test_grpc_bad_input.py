"""Bad requests over gRPC get the right status and a readable message, and leave
nothing half-written in Redis."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis

from taskflow.rpc.interceptors import ERROR_KIND_KEY
from taskflow.store import NewTask, TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import SchedulerClient, monitor, scheduler, settings_for

UNKNOWN_ID = "0b0a3f52-8f5e-4e36-a8f0-3b1f8a4a2c11"


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    settings = settings_for(redis_url, TASKFLOW_MAX_CONTENT_BYTES=100)
    async with scheduler(settings, redis_client) as client:
        yield client


async def refused(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def assert_code(call: Awaitable[Any], code: grpc.StatusCode, words: str) -> None:
    error = await refused(call)
    assert error.code() == code, error.details()
    assert words in (error.details() or "")


def nested_lists(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


async def test_bad_creations_are_refused_and_write_nothing(
    api: SchedulerClient, redis_client: Redis
) -> None:
    stub = api.stub
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    await assert_code(
        stub.CreateTask(pb.CreateTaskRequest(task_type="nope")), invalid, "unknown task_type"
    )
    await assert_code(stub.CreateTask(pb.CreateTaskRequest()), invalid, "task_type is required")
    await assert_code(
        stub.CreateTask(pb.CreateTaskRequest(task_type="echo", max_retries=-1)),
        invalid,
        "max_retries",
    )
    not_json = Struct()
    not_json.update({"ratio": float("nan")})
    await assert_code(
        stub.CreateTask(pb.CreateTaskRequest(task_type="echo", metadata=not_json)),
        invalid,
        "metadata",
    )
    deep = Struct()
    deep.update({"deep": nested_lists(40)})
    await assert_code(
        stub.CreateTask(pb.CreateTaskRequest(task_type="echo", metadata=deep)),
        invalid,
        "nests deeper",
    )
    await assert_code(
        stub.CreateSummarizeTask(pb.CreateSummarizeTaskRequest(content="   ")),
        invalid,
        "must not be empty",
    )
    await assert_code(
        stub.CreatePdfxtractTask(pb.CreatePdfxtractTaskRequest(pdf=b"hello", filename="a.pdf")),
        invalid,
        "not a PDF",
    )
    await assert_code(
        stub.CreatePdfxtractTask(
            pb.CreatePdfxtractTaskRequest(pdf=b"%PDF-1.4", filename="a.pdf", issue_date="May 5")
        ),
        invalid,
        "ISO 8601",
    )
    await assert_code(
        stub.BatchCreateTasks(
            pb.BatchCreateTasksRequest(
                tasks=[
                    pb.CreateTaskRequest(task_type="echo", content="fine"),
                    pb.CreateTaskRequest(task_type="nope"),
                ]
            )
        ),
        invalid,
        "tasks[1]",
    )
    too_big = await refused(
        stub.CreateSummarizeTask(pb.CreateSummarizeTaskRequest(content="x" * 101))
    )
    assert too_big.code() == invalid
    assert "limit is 100" in (too_big.details() or "")
    trailing: list[tuple[str, str]] = list(too_big.trailing_metadata() or ())  # type: ignore[arg-type]
    assert (ERROR_KIND_KEY, "TooLarge") in trailing
    assert await redis_client.dbsize() == 0, "a refused request left keys behind"


async def test_bad_reads_and_changes(api: SchedulerClient, store: TaskStore) -> None:
    stub = api.stub
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    pending = (await store.create(NewTask("echo", "x"))).task_id
    await assert_code(stub.GetTask(pb.GetTaskRequest(task_id="42")), invalid, "not a UUID")
    await assert_code(
        stub.GetTask(pb.GetTaskRequest(task_id=UNKNOWN_ID)), grpc.StatusCode.NOT_FOUND, UNKNOWN_ID
    )
    await assert_code(
        stub.RetryTask(pb.RetryTaskRequest(task_id=pending)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "PENDING",
    )
    await assert_code(
        stub.DeleteTask(pb.DeleteTaskRequest(task_id=UNKNOWN_ID)), grpc.StatusCode.NOT_FOUND, ""
    )
    await assert_code(stub.ListTasks(pb.ListTasksRequest(page=-1)), invalid, "page")
    await assert_code(stub.ListTasks(pb.ListTasksRequest(page_size=500)), invalid, "page_size")
    await assert_code(stub.ListTasks(pb.ListTasksRequest(sort_by="colour")), invalid, "sort_by")
    await assert_code(stub.ListTasks(pb.ListTasksRequest(task_id="zz!")), invalid, "task_id")
    later, earlier = Timestamp(seconds=2_000_000_000), Timestamp(seconds=1_000_000_000)
    await assert_code(
        stub.ListTasks(pb.ListTasksRequest(start_date=later, end_date=earlier)), invalid, "start"
    )
    await assert_code(
        stub.ListQueueTasks(pb.ListQueueTasksRequest(queue_name="urgent")),
        grpc.StatusCode.NOT_FOUND,
        "urgent",
    )
    await assert_code(
        stub.ListQueueTasks(pb.ListQueueTasksRequest(queue_name="primary", limit=5000)),
        invalid,
        "limit",
    )
    await assert_code(stub.CleanupTasks(pb.CleanupTasksRequest()), invalid, "refusing")
    await assert_code(
        stub.ListTasks(pb.ListTasksRequest(status=99)),  # type: ignore[arg-type]
        invalid,
        "state",
    )
    assert (await store.get(pending)).state.value == "PENDING"
    listed = await stub.ListTasks(pb.ListTasksRequest(status=enums.TASK_STATE_PENDING))
    assert [t.task_id for t in listed.tasks] == [pending]


# Bytes no protobuf message decodes: a field tag of 0 and a truncated length prefix.
UNDECODABLE_BYTES = (b"\x00", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x05ab")


@pytest.mark.parametrize("method", ["GetTask", "CreateTask", "ListTasks"])
@pytest.mark.parametrize("data", UNDECODABLE_BYTES)
async def test_undecodable_request_bytes_are_invalid_argument_with_one_short_log_line(
    api: SchedulerClient, caplog: pytest.LogCaptureFixture, method: str, data: bytes
) -> None:
    raw = api.channel.unary_unary(f"/taskflow.v1.SchedulerService/{method}", None, None)
    with caplog.at_level(logging.INFO):
        error = await refused(raw(data))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "not a valid" in (error.details() or "")
    lines = [r for r in caplog.records if "undecodable" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert lines[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_undecodable_stream_request_is_invalid_argument(
    redis_url: str, redis_client: Redis
) -> None:
    async with monitor(settings_for(redis_url), redis_client) as client:
        raw = client.channel.unary_stream("/taskflow.v1.MonitorService/WatchTask", None, None)
        error = await refused(raw(b"\x00").read())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()


HUGE = "x" * 17_000


async def test_errors_quote_a_bounded_part_of_huge_input(api: SchedulerClient) -> None:
    """A message echoing 17,000 characters would exceed the metadata limit and reach
    the client as RESOURCE_EXHAUSTED ("Stream removed") instead of the real status."""
    stub = api.stub
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    calls: list[Awaitable[Any]] = [
        stub.GetTask(pb.GetTaskRequest(task_id=HUGE)),
        stub.CreateTask(pb.CreateTaskRequest(task_type=HUGE)),
        stub.ListTasks(pb.ListTasksRequest(sort_by=HUGE)),
        stub.ListTasks(pb.ListTasksRequest(task_id=HUGE)),
    ]
    for call in calls:
        error = await refused(call)
        assert error.code() == invalid, (error.code(), (error.details() or "")[:200])
        assert "17000 characters" in (error.details() or "")
        assert len(error.details() or "") < 1000
    error = await refused(stub.ListQueueTasks(pb.ListQueueTasksRequest(queue_name=HUGE)))
    assert error.code() == grpc.StatusCode.NOT_FOUND, error.code()
    assert len(error.details() or "") < 1000
