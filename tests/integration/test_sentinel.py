"""Redis Sentinel: the services, as real processes given only REDIS_SENTINELS, reach
the master through the sentinels (commands and pub/sub), and after the master is
SIGKILLed and its replica promoted they go on; what they acknowledged stays."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from taskflow.client import Clients, connect
from taskflow.redis_runtime import connected
from taskflow.redis_server import free_port
from taskflow.settings import Settings
from taskflow.v1 import enums_pb2, monitor_service_pb2, task_pb2
from tests.support.processes import service_env, start_service
from tests.support.remote_tasks import (
    ACTIVE,
    all_completed,
    create,
    get,
    patiently,
    states,
    wait_until,
)
from tests.support.sentinel import SentinelDeployment, sentinel_deployment

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)
LEASE_SECONDS = 2


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    with sentinel_deployment(tmp_path / "redis") as started:
        yield started


@contextlib.asynccontextmanager
async def services(
    deployment: SentinelDeployment,
    logs: Path,
    processes: list[subprocess.Popen[bytes]],
    **overrides: Any,
) -> AsyncIterator[Clients]:
    """Scheduler, monitor and executor processes that know only the sentinels."""
    addresses = {
        "TASKFLOW_SCHEDULER_ADDRESS": f"127.0.0.1:{free_port()}",
        "TASKFLOW_MONITOR_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    env = service_env(
        "",  # no REDIS_URL: the sentinels name the master
        REDIS_SENTINELS=deployment.sentinel_list,
        TASKFLOW_LEASE_SECONDS=LEASE_SECONDS,
        **addresses,
        **overrides,
    )
    for name in ("scheduler", "monitor", "executor"):
        processes.append(start_service(name, env, logs / f"{name}.log"))
    async with connect(Settings(**addresses)) as clients:  # type: ignore[arg-type]
        yield clients


async def followed_to_the_end(clients: Clients, task_id: str) -> list[task_pb2.Task]:
    """Every task the monitor's WatchTask stream sends until it ends (the task is
    final): the stream is fed by the monitor's pub/sub subscription."""

    async def watch() -> list[task_pb2.Task]:
        request = monitor_service_pb2.WatchTaskRequest(task_id=task_id)
        stream = clients.monitor.WatchTask(request, metadata=clients.metadata)
        return [message.task async for message in stream]

    async with asyncio.timeout(60):
        return await patiently(watch)


def stored_on(port: int, task_id: str) -> bool:
    with redis.Redis(port=port) as direct:
        return bool(direct.exists(f"task:{task_id}"))


async def test_every_service_reaches_the_master_through_sentinel(
    deployment: SentinelDeployment, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    async with services(deployment, tmp_path, processes) as clients:
        task_id = await patiently(lambda: create(clients, "echo", "through sentinel"))
        seen = await followed_to_the_end(clients, task_id)

    assert seen[-1].state == enums_pb2.TASK_STATE_COMPLETED
    assert seen[-1].result == "through sentinel"
    assert stored_on(deployment.master.port, task_id)


async def test_after_a_failover_work_goes_on_and_acknowledged_tasks_stay(
    deployment: SentinelDeployment,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
    record_property: Any,
) -> None:
    # Each state change waits for the replica, so whatever a caller saw succeed is
    # on the replica that the failover promotes. The promoted one has no replica in
    # turn, so every change then waits the whole (here short) timeout.
    async with services(
        deployment,
        tmp_path,
        processes,
        TASKFLOW_REDIS_REPLICA_ACKS=1,
        TASKFLOW_REDIS_REPLICA_ACK_TIMEOUT=0.2,
    ) as clients:
        finished = [await patiently(lambda: create(clients, "echo", "before")) for _ in range(5)]
        await all_completed(clients, finished, within=120)
        in_flight = [await create(clients, "sleepy", "3") for _ in range(4)]

        async def some_running() -> bool:
            return (await states(clients, in_flight))[ACTIVE] >= 1

        await wait_until(some_running, within=60, what="a task running")

        old_port = deployment.master.port
        killed_at = time.monotonic()
        deployment.master.kill()
        new_port = deployment.wait_for_new_master(old_port, timeout=30)
        promoted_after = time.monotonic() - killed_at
        assert new_port == deployment.replica.port
        record_property("failover_seconds", round(promoted_after, 2))
        log.info("event=failover_measured seconds=%.2f", promoted_after)

        after = [await patiently(lambda: create(clients, "echo", "after")) for _ in range(3)]
        seen = await followed_to_the_end(clients, after[0])
        assert seen[-1].state == enums_pb2.TASK_STATE_COMPLETED

        everything = finished + in_flight + after
        await all_completed(clients, everything, within=60)
        for task_id in finished:
            assert (await get(clients, task_id)).result == "before"
        status = await clients.monitor.GetQueueStatus(
            monitor_service_pb2.GetQueueStatusRequest(), metadata=clients.metadata
        )

    assert status.states.completed == len(everything)
    assert status.states.pending + status.states.active == 0
    assert all(stored_on(new_port, task_id) for task_id in everything)


async def test_passwords_go_to_the_sentinels_and_to_the_master(tmp_path: Path) -> None:
    with sentinel_deployment(
        tmp_path, master_password="master-secret", sentinel_password="sentinel-secret"
    ) as protected:
        # The host in REDIS_URL is Sentinel's to name: only the password and db count.
        url = "redis://:master-secret@named-by-sentinel:1/0"
        settings = Settings(
            REDIS_URL=url,
            REDIS_SENTINELS=protected.sentinel_list.split(","),
            REDIS_SENTINEL_PASSWORD=SecretStr("sentinel-secret"),
        )
        async with connected(settings, url) as client:
            await client.set("greeting", "hello")
            assert await client.get("greeting") == b"hello"
        wrong = settings.model_copy(update={"redis_sentinel_password": SecretStr("guess")})
        async with connected(wrong, url) as client:
            with pytest.raises(redis.exceptions.ConnectionError, match="No master found"):
                await client.ping()
