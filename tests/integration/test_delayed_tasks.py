"""Delayed tasks over gRPC (issue 15): stored SCHEDULED at once, run no earlier than
asked and within a second after by a real executor process, through the promotion
the retries use; bad run times are INVALID_ARGUMENT and store nothing."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.processes import service_env, start_service
from tests.support.stack import SchedulerClient, scheduler, settings_for
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually, wait_for_state


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings_for(redis_url), redis_client) as client:
        yield client


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_a_delayed_task_runs_no_earlier_than_asked_and_within_a_second_after(
    api: SchedulerClient,
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    processes.append(start_service("executor", service_env(redis_url), tmp_path / "executor.log"))

    async def executor_up() -> bool:
        return bool(await redis_client.zcard(store.keys.workers_seen))

    await eventually(executor_up, within=30, what="the executor's first heartbeat")
    soon = datetime.now(UTC) + timedelta(seconds=2)
    requests = [
        pb.CreateTaskRequest(task_type="echo", content="a", delay=Duration(seconds=1)),
        pb.CreateTaskRequest(
            task_type="echo", content="b", delay=Duration(seconds=1, nanos=500_000_000)
        ),
        pb.CreateTaskRequest(task_type="echo", content="c", run_at=at(soon)),
    ]
    replies = (await api.stub.BatchCreateTasks(pb.BatchCreateTasksRequest(tasks=requests))).tasks
    assert [r.state for r in replies] == [enums.TASK_STATE_SCHEDULED] * 3
    assert (await store.status()).states[TaskState.SCHEDULED] == 3
    for reply in replies:
        await wait_for_state(store, reply.task_id, TaskState.COMPLETED, within=30)
    for reply in replies:
        task = await store.get(reply.task_id)
        assert task.run_at is not None
        assert task.started_at is not None
        late = (task.started_at - task.run_at).total_seconds()
        assert 0 <= late < 1.0, f"started {late:.3f} s after its run time"
        assert task.retry_count == 0
        assert [s.state for s in task.state_history] == [
            "SCHEDULED", "PENDING", "ACTIVE", "COMPLETED",
        ]  # fmt: skip
    last = await store.get(replies[-1].task_id)
    assert last.run_at is not None
    assert abs((last.run_at - soon).total_seconds()) < 0.001
    await assert_counters_match_hashes(redis_client, store)


async def test_a_run_time_in_the_past_runs_now(api: SchedulerClient, store: TaskStore) -> None:
    past = at(datetime(2020, 1, 1, tzinfo=UTC))
    reply = await api.stub.CreateTask(pb.CreateTaskRequest(task_type="echo", run_at=past))
    assert reply.state == enums.TASK_STATE_PENDING
    task = await store.get(reply.task_id)
    assert (task.state, task.run_at) == (TaskState.PENDING, None)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"delay": Duration(seconds=366 * 86400)}, "365 days"),
        ({"run_at": at(datetime.now(UTC) + timedelta(days=367))}, "365 days"),
        ({"delay": Duration(seconds=-5)}, "negative"),
        ({"delay": Duration(seconds=5), "run_at": at(datetime.now(UTC))}, "not both"),
        ({"priority": 10}, "priority"),
        ({"queue": "Not A Queue"}, "Not A Queue"),
    ],
)
async def test_bad_run_times_are_invalid_and_store_nothing(
    api: SchedulerClient,
    redis_client: Redis,
    fields: dict[str, object],
    message: str,
) -> None:
    good = pb.CreateTaskRequest(task_type="echo", delay=Duration(seconds=60))
    bad = pb.CreateTaskRequest(task_type="echo", **fields)  # type: ignore[arg-type]
    for call in (
        api.stub.CreateTask(bad),
        api.stub.BatchCreateTasks(pb.BatchCreateTasksRequest(tasks=[good, bad])),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (refused.value.details() or "")
    assert await redis_client.dbsize() == 0
