"""Recurring schedules over gRPC against real Redis: the RPCs, bad input refused
with nothing stored, a firing keyed by (schedule, fire time), the overlap policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from redis.asyncio import Redis

# Registers send_mail, a type of the `emails` queue, in this process.
import tests.support.mail_tasks  # noqa: F401
from taskflow.store import TaskState, TaskStore
from taskflow.store.schedules import ScheduleSpec, ScheduleStore
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import schedule_pb2 as spb
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.stack import SchedulerClient, scheduler, settings_for
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually


@pytest.fixture
async def api(redis_url: str, redis_client: Redis) -> AsyncIterator[SchedulerClient]:
    async with scheduler(settings_for(redis_url), redis_client) as client:
        yield client


async def stored_keys(client: Redis, store: TaskStore) -> list[str]:
    found = []
    for glob in ("schedule:*", "schedules:*", "task:*"):
        found += [k async for k in client.scan_iter(match=store.keys.pattern(glob))]
    return found


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (spb.ScheduleSpec(task_type="echo", content="x", cron="not a cron"), "cron"),
        (spb.ScheduleSpec(task_type="echo", content="x", cron="61 * * * *"), "cron"),
        (
            spb.ScheduleSpec(task_type="echo", content="x", cron="* * * * *", time_zone="Mars/X"),
            "time_zone",
        ),
        (spb.ScheduleSpec(task_type="nope", content="x", cron="* * * * *"), "task_type"),
        (spb.ScheduleSpec(task_type="echo", content="x", interval=Duration()), "interval"),
        (spb.ScheduleSpec(task_type="echo", content="x"), "cron or interval"),
        (
            spb.ScheduleSpec(
                task_type="echo", content="x", cron="* * * * *", interval=Duration(seconds=1)
            ),
            "cron or interval",
        ),
        (
            spb.ScheduleSpec(task_type="echo", content="x", cron="* * * * *", priority=10),
            "priority",
        ),
    ],
)
async def test_bad_specs_are_invalid_argument_and_store_nothing(
    api: SchedulerClient,
    redis_client: Redis,
    store: TaskStore,
    spec: spb.ScheduleSpec,
    message: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.CreateSchedule(pb.CreateScheduleRequest(spec=spec))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")
    assert await stored_keys(redis_client, store) == []


async def test_create_get_list_update_pause_resume_trigger_delete(
    api: SchedulerClient, redis_client: Redis, store: TaskStore
) -> None:
    spec = spb.ScheduleSpec(task_type="echo", content="hourly", cron="0 * * * *", priority=3)
    created = (await api.stub.CreateSchedule(pb.CreateScheduleRequest(spec=spec))).schedule
    sid = created.schedule_id
    assert created.HasField("next_fire_at")
    assert not created.paused
    assert created.spec.misfire_policy == spb.MISFIRE_POLICY_SKIP
    assert created.next_fire_at.ToDatetime().minute == 0
    listed = (await api.stub.ListSchedules(pb.ListSchedulesRequest())).schedules
    assert [s.schedule_id for s in listed] == [sid]

    paused = (await api.stub.PauseSchedule(pb.PauseScheduleRequest(schedule_id=sid))).schedule
    assert paused.paused
    assert not paused.HasField("next_fire_at")
    task_id = (await api.stub.TriggerSchedule(pb.TriggerScheduleRequest(schedule_id=sid))).task_id
    task = await store.get(task_id)
    assert (task.state, task.content, task.priority) == (TaskState.PENDING, "hourly", 3)
    got = (await api.stub.GetSchedule(pb.GetScheduleRequest(schedule_id=sid))).schedule
    assert (got.last_task_id, got.last_task_state, got.fire_count) == (
        task_id,
        enums.TASK_STATE_PENDING,
        1,
    )
    resumed = (await api.stub.ResumeSchedule(pb.ResumeScheduleRequest(schedule_id=sid))).schedule
    assert not resumed.paused
    assert resumed.HasField("next_fire_at")

    new_spec = spb.ScheduleSpec(
        task_type="echo", content="daily", cron="0 9 * * *", time_zone="Asia/Tokyo"
    )
    updated = (
        await api.stub.UpdateSchedule(pb.UpdateScheduleRequest(schedule_id=sid, spec=new_spec))
    ).schedule
    assert updated.spec.content == "daily"
    assert updated.next_fire_at.ToDatetime().hour == 0  # 09:00 in Tokyo is 00:00 UTC

    await api.stub.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id=sid))
    for call in (
        api.stub.GetSchedule(pb.GetScheduleRequest(schedule_id=sid)),
        api.stub.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id=sid)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await store.get(task_id)).state is TaskState.PENDING  # its tasks stay
    await assert_counters_match_hashes(redis_client, store)


async def test_a_firing_happens_once_whoever_races_for_it(
    redis_client: Redis, store: TaskStore
) -> None:
    schedules = ScheduleStore(redis_client)
    now = await schedules.now_ms()
    sid = await schedules.create(
        ScheduleSpec(task_type="echo", content="x", interval_ms=1000),
        created_ms=now,
        next_fire_ms=now,
    )
    firings = await asyncio.gather(
        *(schedules.fire(sid, due_ms=now, next_fire_ms=now + 1000, create=True) for _ in range(20))
    )
    assert sorted(f.outcome for f in firings) == ["fired"] + ["stale"] * 19
    assert (await schedules.get(sid)).next_fire_ms == now + 1000
    assert (await store.status()).states[TaskState.PENDING] == 1
    await assert_counters_match_hashes(redis_client, store)


async def test_overlap_skip_fires_nothing_while_the_last_task_is_not_terminal(
    api: SchedulerClient, redis_client: Redis, store: TaskStore
) -> None:
    spec = spb.ScheduleSpec(
        task_type="echo",
        content="x",
        interval=Duration(nanos=300_000_000),
        overlap_policy=spb.OVERLAP_POLICY_SKIP,
    )
    sid = (await api.stub.CreateSchedule(pb.CreateScheduleRequest(spec=spec))).schedule.schedule_id
    schedules = ScheduleStore(redis_client)

    async def fired_once_and_moved_on() -> bool:
        s = await schedules.get(sid)
        return s.fire_count == 1 and (s.next_fire_ms or 0) > (s.last_fire_ms or 0) + 1000

    await eventually(fired_once_and_moved_on, within=30, what="later firings skipped")
    first = (await schedules.get(sid)).last_task_id
    claimed = await store.claim("w1", 1)
    await store.complete(claimed[0], "done")

    async def fired_again() -> bool:
        return (await schedules.get(sid)).fire_count >= 2

    await eventually(fired_again, within=30, what="a firing after the task completed")
    assert (await schedules.get(sid)).last_task_id != first
    await api.stub.DeleteSchedule(pb.DeleteScheduleRequest(schedule_id=sid))
    await assert_counters_match_hashes(redis_client, store)


async def test_a_schedule_fires_into_its_task_types_queue(
    api: SchedulerClient, store: TaskStore, redis_client: Redis
) -> None:
    """send_mail declares queue `emails` where it is registered: its schedule's
    tasks go there, as CreateTask's would."""
    spec = spb.ScheduleSpec(task_type="send_mail", content="x", cron="0 0 1 1 *")
    created = await api.stub.CreateSchedule(pb.CreateScheduleRequest(spec=spec))
    sid = created.schedule.schedule_id
    task_id = (await api.stub.TriggerSchedule(pb.TriggerScheduleRequest(schedule_id=sid))).task_id
    assert (await store.get(task_id)).queue_name == "emails"
    assert await redis_client.lrange(store.keys.primary, 0, -1) == []
    await assert_counters_match_hashes(redis_client, store)
