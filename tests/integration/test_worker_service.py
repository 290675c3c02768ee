"""WorkerService: a remote worker over the gRPC protocol itself (our own stubs),
against a real scheduler and executor: routing by named queue, batches bounded by
credit, outcomes recorded with fencing, retry schedules and the DLQ, leases that
lapse when the stream is gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.settings import Settings
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as spb
from taskflow.v1 import task_pb2 as tpb
from taskflow.v1 import worker_service_pb2 as pb
from taskflow.v1 import worker_service_pb2_grpc
from tests.support.stack import SchedulerClient, executor, scheduler, settings_for
from tests.support.waiting import eventually

REMOTE_TYPE = "remote_upper"


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return settings_for(redis_url, TASKFLOW_LEASE_SECONDS=1.0)


@pytest.fixture
async def api(settings: Settings, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings, redis_client) as client:
        yield client


@pytest.fixture
async def workers(
    settings: Settings, redis_client: Redis
) -> AsyncIterator[worker_service_pb2_grpc.WorkerServiceStub]:
    port = free_port()
    async with (
        executor(settings, redis_client, port),
        aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        yield worker_service_pb2_grpc.WorkerServiceStub(channel)


async def register(stub: Any, worker_id: str = "remote-test", prefetch: int = 0) -> Any:
    call = stub.Work()
    registration = pb.WorkerRegistration(
        worker_id=worker_id,
        task_types=[REMOTE_TYPE],
        queue="tests",
        concurrency=4,
        prefetch=prefetch,
    )
    await call.write(pb.WorkRequest(register=registration))
    first = await call.read()
    assert first.registered.worker_id == worker_id
    assert first.registered.lease_seconds == 1.0
    return call


async def read_kind(call: Any, kind: str) -> Any:
    """The next response of `kind`, skipping heartbeats."""
    async with asyncio.timeout(10):
        while True:
            response = await call.read()
            assert response is not grpc.aio.EOF  # type: ignore[attr-defined]
            if response.WhichOneof("kind") == kind:
                return getattr(response, kind)


async def create(api: SchedulerClient, *contents: str, task_type: str = REMOTE_TYPE) -> list[str]:
    batch = spb.BatchCreateTasksRequest(
        tasks=[spb.CreateTaskRequest(task_type=task_type, content=c) for c in contents]
    )
    return [t.task_id for t in (await api.stub.BatchCreateTasks(batch)).tasks]


async def task(api: SchedulerClient, task_id: str) -> Any:
    return (await api.stub.GetTask(spb.GetTaskRequest(task_id=task_id))).task


async def state(api: SchedulerClient, task_id: str) -> enums.TaskState.ValueType:
    return (await task(api, task_id)).state  # type: ignore[no-any-return]


def upper_cased(tasks: list[Any]) -> pb.WorkRequest:
    """Outcomes of `tasks`, each completed with its content upper-cased."""
    outcomes = [
        pb.TaskOutcome(task_id=t.task_id, lease_token=t.lease_token, completed=t.content.upper())
        for t in tasks
    ]
    return pb.WorkRequest(outcomes=pb.TaskOutcomes(outcomes=outcomes))


async def test_an_unregistered_type_is_refused_until_a_worker_registers_it(
    api: SchedulerClient, workers: Any
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(api, "x")
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    call = await register(workers)
    (task_id,) = await create(api, "x")
    assert (await task(api, task_id)).state == enums.TASK_STATE_PENDING
    call.cancel()


async def test_tasks_come_in_batches_within_credit_and_complete(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers)
    ids = await create(api, *(f"word {i}" for i in range(10)))
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=4)))
    got: list[Any] = []
    while len(got) < 4:
        got += (await read_kind(call, "tasks")).tasks
    assert len(got) == 4
    assert {t.task_type for t in got} == {REMOTE_TYPE}
    await call.write(upper_cased(got))
    acks = (await read_kind(call, "acks")).acks
    assert [(a.task_id, a.status, a.state) for a in acks] == [
        (t.task_id, pb.OUTCOME_STATUS_ACCEPTED, enums.TASK_STATE_COMPLETED) for t in got
    ]
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=100)))
    while len(got) < 10:
        batch = (await read_kind(call, "tasks")).tasks
        got += batch
        await call.write(upper_cased(batch))
        await read_kind(call, "acks")
    assert sorted(t.task_id for t in got) == sorted(ids)
    for task_id in ids:
        stored = await task(api, task_id)
        assert stored.state == enums.TASK_STATE_COMPLETED
        assert stored.result == stored.content.upper()
        assert stored.worker_id == "remote-test"
    call.cancel()


async def test_a_workers_whole_credit_comes_as_two_half_batches(
    api: SchedulerClient, workers: Any
) -> None:
    """Two round trips on their way at once (remote_session.LANES): the worker runs one
    half batch while the other is claimed, and the halves never exceed its credit."""
    call = await register(workers)  # concurrency 4: a lane's share is 2
    await create(api, *(f"word {i}" for i in range(10)))
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=4)))
    first = (await read_kind(call, "tasks")).tasks
    second = (await read_kind(call, "tasks")).tasks
    assert (len(first), len(second)) == (2, 2)
    assert not {t.task_id for t in first} & {t.task_id for t in second}
    call.cancel()


async def test_a_prefetching_workers_batches_are_whole(api: SchedulerClient, workers: Any) -> None:
    """A worker holding 4 tasks beyond its 4 slots (prefetch) grants credit for 8; a
    lane's share counts the prefetched ones, so the credit that comes back with a
    batch's outcomes is claimed as one batch of 4, not two halves."""
    call = await register(workers, prefetch=4)
    await create(api, *(f"word {i}" for i in range(12)))
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=8)))
    first = (await read_kind(call, "tasks")).tasks
    second = (await read_kind(call, "tasks")).tasks
    assert (len(first), len(second)) == (4, 4)
    request = upper_cased(first)
    request.outcomes.slots = 4
    await call.write(request)
    third = await read_kind(call, "tasks")
    assert (len(third.acks), len(third.tasks)) == (4, 4)
    held = {t.task_id for t in [*first, *second, *third.tasks]}
    assert len(held) == 12
    call.cancel()


async def test_outcomes_sent_with_credit_are_acked_with_the_next_tasks(
    api: SchedulerClient, workers: Any
) -> None:
    """Outcomes carrying `slots` are recorded in the round trip that claims their
    successors: one `tasks` answer holds both (new workers); a stale token in the
    batch is still refused on its own."""
    call = await register(workers)
    ids = await create(api, *(f"word {i}" for i in range(5)))
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=3)))
    first: list[Any] = []
    while len(first) < 3:
        first += (await read_kind(call, "tasks")).tasks
    request = upper_cased(first)
    request.outcomes.outcomes[2].lease_token = "stale"
    request.outcomes.slots = 3
    await call.write(request)
    second = await read_kind(call, "tasks")
    assert [(a.task_id, a.status, a.state) for a in second.acks] == [
        (first[0].task_id, pb.OUTCOME_STATUS_ACCEPTED, enums.TASK_STATE_COMPLETED),
        (first[1].task_id, pb.OUTCOME_STATUS_ACCEPTED, enums.TASK_STATE_COMPLETED),
        (first[2].task_id, pb.OUTCOME_STATUS_LEASE_LOST, enums.TASK_STATE_UNSPECIFIED),
    ]
    # The refused one is still held under its real token; the queue had two more.
    assert len(second.tasks) == 2
    request = upper_cased([first[2], *second.tasks])
    request.outcomes.slots = 3
    await call.write(request)
    last = await read_kind(call, "tasks")
    assert len(last.acks) == 3
    assert not last.tasks
    assert {a.status for a in last.acks} == {pb.OUTCOME_STATUS_ACCEPTED}
    for task_id in ids:
        assert await state(api, task_id) == enums.TASK_STATE_COMPLETED
    call.cancel()


async def test_failures_follow_the_retry_schedule_and_permanent_ones_go_to_the_dlq(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers)
    retried, dead = await create(api, "retry me", "give up")
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=2)))
    got = {t.content: t for t in (await read_kind(call, "tasks")).tasks}
    while len(got) < 2:
        got.update({t.content: t for t in (await read_kind(call, "tasks")).tasks})
    failures = [
        pb.TaskOutcome(
            task_id=retried,
            lease_token=got["retry me"].lease_token,
            failed=pb.TaskFailure(error="slow down", error_type="RateLimitError"),
        ),
        pb.TaskOutcome(
            task_id=dead,
            lease_token=got["give up"].lease_token,
            failed=pb.TaskFailure(error="bad input", error_type="PermanentError", permanent=True),
        ),
    ]
    await call.write(pb.WorkRequest(outcomes=pb.TaskOutcomes(outcomes=failures)))
    acks = (await read_kind(call, "acks")).acks
    assert [a.state for a in acks] == [enums.TASK_STATE_SCHEDULED, enums.TASK_STATE_DLQ]
    assert (await task(api, retried)).error_type == "RateLimitError"
    # RateLimitError waits 120 s, scaled by 0.01 in tests: back in the named queue.
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=1)))
    again = (await read_kind(call, "tasks")).tasks
    assert [(t.task_id, t.retry_count) for t in again] == [(retried, 1)]
    call.cancel()


async def test_a_completion_after_the_lease_lapsed_is_refused(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers, "goes-away")
    (task_id,) = await create(api, "late")
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=1)))
    (held,) = (await read_kind(call, "tasks")).tasks
    call.cancel()  # the stream is gone: nobody renews the lease any more

    async def requeued() -> bool:
        return await state(api, task_id) == enums.TASK_STATE_PENDING

    await eventually(requeued, within=15, what="the task back in its queue")
    stored = await task(api, task_id)
    assert (stored.retry_count, stored.error_type) == (1, "WorkerLost")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workers.CompleteTask(
            pb.CompleteTaskRequest(task_id=task_id, lease_token=held.lease_token, result="late")
        )
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    # On a stream, the same refusal is an ack saying so.
    second = await register(workers, "second")
    stale = pb.TaskOutcome(task_id=task_id, lease_token=held.lease_token, completed="late")
    await second.write(pb.WorkRequest(outcomes=pb.TaskOutcomes(outcomes=[stale])))
    (ack,) = (await read_kind(second, "acks")).acks
    assert ack.status == pb.OUTCOME_STATUS_LEASE_LOST
    await second.write(pb.WorkRequest(credit=pb.WorkCredit(slots=1)))
    (fresh,) = (await read_kind(second, "tasks")).tasks
    reply = await workers.CompleteTask(
        pb.CompleteTaskRequest(task_id=task_id, lease_token=fresh.lease_token, result="on time")
    )
    assert reply.state == enums.TASK_STATE_COMPLETED
    assert (await task(api, task_id)).result == "on time"
    second.cancel()


async def test_the_executor_keeps_running_its_own_types_beside_remote_ones(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers)
    (own,) = await create(api, "ours", task_type="echo")
    (remote,) = await create(api, "theirs")

    async def ours_done() -> bool:
        return await state(api, own) == enums.TASK_STATE_COMPLETED

    await eventually(ours_done, what="the echo task run by the executor")
    assert (await task(api, remote)).state == enums.TASK_STATE_PENDING
    call.cancel()


async def test_a_task_the_worker_no_longer_holds_is_cancelled_on_its_stream(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers)
    (task_id,) = await create(api, "deleted while running")
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=1)))
    (held,) = (await read_kind(call, "tasks")).tasks
    await api.stub.DeleteTask(spb.DeleteTaskRequest(task_id=task_id))
    cancel = await read_kind(call, "cancel")
    assert (list(cancel.task_ids), cancel.reason) == ([held.task_id], "lease lost")
    call.cancel()


async def test_a_remote_workers_log_lines_are_kept_with_secrets_masked(
    api: SchedulerClient, workers: Any
) -> None:
    call = await register(workers)
    (task_id,) = await create(api, "x")
    await call.write(pb.WorkRequest(credit=pb.WorkCredit(slots=1)))
    (held,) = (await read_kind(call, "tasks")).tasks
    progress = pb.TaskProgress(
        task_id=task_id,
        lease_token=held.lease_token,
        fraction=0.5,
        log_lines=["calling the provider with Bearer s3cret-token"],
        log_entries=[
            tpb.TaskLogLine(level="WARNING", logger="client", message="GET /x?token=abc&n=1")
        ],
    )
    await call.write(pb.WorkRequest(progress=progress))

    async def kept() -> list[Any]:
        reply = await api.stub.GetTaskLogs(spb.GetTaskLogsRequest(task_id=task_id))
        return list(reply.lines)

    await eventually(lambda: _has_two(kept), within=30, what="the remote log lines kept")
    lines = await kept()
    assert [(line.level, line.message) for line in lines] == [
        ("INFO", "calling the provider with Bearer ***"),
        ("WARNING", "GET /x?token=***&n=1"),
    ]
    call.cancel()


async def _has_two(read: Any) -> bool:
    return len(await read()) == 2
