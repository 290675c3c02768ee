"""Recurring schedules with real scheduler processes: two replicas fire a 1 s
schedule for 30 s and create exactly one task per fire time, none skipped; a
scheduler SIGKILLed and restarted catches up by each schedule's misfire policy."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from grpc import aio
from redis.asyncio import Redis

from taskflow.redis_server import free_port
from taskflow.store import TaskStore
from taskflow.store.schedules import ScheduleStore
from taskflow.v1 import schedule_pb2 as spb
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1 import scheduler_service_pb2_grpc
from tests.support.processes import service_env, start_service
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

GRACE_S = 2


def start_scheduler(redis_url: str, log: Path, port: int) -> subprocess.Popen[bytes]:
    env = service_env(
        redis_url,
        TASKFLOW_SCHEDULER_ADDRESS=f"127.0.0.1:{port}",
        TASKFLOW_SCHEDULE_MISFIRE_GRACE=GRACE_S,
    )
    return start_service("scheduler", env, log)


@pytest.fixture
async def channel_port() -> AsyncIterator[tuple[aio.Channel, int]]:
    port = free_port()
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel, port


async def create_every_second(channel: aio.Channel, misfire: spb.MisfirePolicy.ValueType) -> str:
    stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
    await asyncio.wait_for(channel.channel_ready(), timeout=60)
    spec = spb.ScheduleSpec(
        task_type="echo", content="tick", interval=Duration(seconds=1), misfire_policy=misfire
    )
    response = await stub.CreateSchedule(pb.CreateScheduleRequest(spec=spec))
    return response.schedule.schedule_id


async def fire_times(client: Redis, store: TaskStore, schedule_id: str) -> list[int]:
    """The fire time of every task the schedule created, sorted (duplicates kept)."""
    ids: list[Any] = list(await client.zrange(store.keys.index_type("echo"), 0, -1))
    times = []
    for task_id in ids:
        sid, fired = await client.hmget(
            store.keys.task(task_id.decode()), ["schedule_id", "schedule_fire_ms"]
        )
        if sid is not None and fired is not None and _text(sid) == schedule_id:
            times.append(int(fired))
    return sorted(times)


async def test_two_replicas_create_exactly_one_task_per_fire_time(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
    channel_port: tuple[aio.Channel, int],
) -> None:
    channel, port = channel_port
    processes.append(start_scheduler(redis_url, tmp_path / "scheduler-1.log", port))
    processes.append(start_scheduler(redis_url, tmp_path / "scheduler-2.log", free_port()))
    sid = await create_every_second(channel, spb.MISFIRE_POLICY_SKIP)
    schedules = ScheduleStore(redis_client)

    async def thirty_fired() -> bool:
        return (await schedules.get(sid)).fire_count >= 30

    await eventually(thirty_fired, within=90, what="30 firings")
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)

    times = await fire_times(redis_client, store, sid)
    assert len(times) == len(set(times)), "a fire time created two tasks"
    steps = {b - a for a, b in itertools.pairwise(times)}
    assert steps == {1000}, f"fire times skipped or off the grid: {steps}"
    assert len(times) == (await schedules.get(sid)).fire_count >= 30
    await assert_counters_match_hashes(redis_client, store)


async def test_a_killed_scheduler_catches_up_by_the_misfire_policy(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
    channel_port: tuple[aio.Channel, int],
) -> None:
    channel, port = channel_port
    first = start_scheduler(redis_url, tmp_path / "scheduler-1.log", port)
    processes.append(first)
    skip = await create_every_second(channel, spb.MISFIRE_POLICY_SKIP)
    run_once = await create_every_second(channel, spb.MISFIRE_POLICY_RUN_ONCE)
    schedules = ScheduleStore(redis_client)

    async def both_fired_twice() -> bool:
        return all([(await schedules.get(s)).fire_count >= 2 for s in (skip, run_once)])

    await eventually(both_fired_twice, within=60, what="two firings each")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    last = {s: (await fire_times(redis_client, store, s))[-1] for s in (skip, run_once)}
    killed_at = await schedules.now_ms()

    async def well_past_the_grace() -> bool:
        return await schedules.now_ms() > killed_at + (GRACE_S + 3) * 1000

    await eventually(well_past_the_grace, within=30, what="the outage")
    restarted_at = await schedules.now_ms()
    processes.append(start_scheduler(redis_url, tmp_path / "scheduler-2.log", free_port()))

    async def both_firing_again() -> bool:
        return all(
            [
                (await fire_times(redis_client, store, s))[-1] > restarted_at
                for s in (skip, run_once)
            ]
        )

    await eventually(both_firing_again, within=60, what="firings after the restart")
    for sid, expected in ((skip, []), (run_once, [last[run_once] + 1000])):
        during = [
            t for t in await fire_times(redis_client, store, sid) if last[sid] < t <= restarted_at
        ]
        assert during == expected, sid
    await assert_counters_match_hashes(redis_client, store)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
