"""Four hosts on a private network (Linux network namespaces made by the test):
Redis, a scheduler and two executors, each our real command. One executor is cut
off the network mid-work; every task it held is recovered and completed by the
other, exactly once, and no task another host finished runs again.

The cut-off executor may still finish its own copies (it cannot tell it is cut off),
but it can report none of them: a task counts as done only when Redis says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import redis
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from taskflow.client import Clients, connect
from taskflow.redis_server import valkey_server_binary
from taskflow.settings import Settings
from taskflow.v1 import enums_pb2, task_pb2
from tests.support.netns import Host, NetnsUnavailable, PrivateNetwork, private_network
from tests.support.processes import ROOT
from tests.support.remote_tasks import all_completed, create, get, patiently, wait_until

pytestmark = pytest.mark.slow
REDIS_PORT = 6379
SCHEDULER_PORT = 50051
EXECUTOR_PORT = 50052
TASKS = 12
TASK_SECONDS = "2"
LEASE_SECONDS = 2
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture
def network() -> Iterator[PrivateNetwork]:
    try:
        with private_network() as made:
            yield made
    except NetnsUnavailable as why:
        pytest.skip(f"multi-host test needs network namespaces (root or CAP_NET_ADMIN): {why}")


def start_redis(network: PrivateNetwork, host: Host, data: Path) -> str:
    data.mkdir(parents=True, exist_ok=True)
    network.run(
        host,
        [str(valkey_server_binary()), "--port", str(REDIS_PORT), "--bind", host.address,
         "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", str(data)],
        env={"PATH": SYSTEM_PATH}, log=data / "valkey.log", cwd=data,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    with redis.Redis(host=host.address, port=REDIS_PORT, socket_timeout=1) as client:
        while True:
            try:
                if client.ping():
                    return f"redis://{host.address}:{REDIS_PORT}/0"
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)


def service_env(redis_url: str, scheduler: Host) -> dict[str, str]:
    return {
        "PATH": SYSTEM_PATH,
        "PYTHONUNBUFFERED": "1",
        "REDIS_URL": redis_url,
        "TASKFLOW_TASK_MODULES": json.dumps(["tests.support.tasks"]),
        "TASKFLOW_SCHEDULER_ADDRESS": f"{scheduler.address}:{SCHEDULER_PORT}",
        # Each executor has a namespace of its own: the same port is free in each.
        "TASKFLOW_EXECUTOR_ADDRESS": f"0.0.0.0:{EXECUTOR_PORT}",
        "TASKFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
        "TASKFLOW_HEARTBEAT_SECONDS": "0.3",
        "WORKER_CONCURRENCY": "3",
    }


def start_service(
    network: PrivateNetwork, host: Host, service: str, env: dict[str, str], logs: Path
) -> subprocess.Popen[bytes]:
    """`python -m services.<service>` on `host`, as a deployment would run it."""
    argv = [sys.executable, "-m", f"services.{service}"]
    return network.run(host, argv, env, logs / f"{host.name}.log", ROOT)


async def serving(address: str) -> bool:
    """Whether the gRPC server at `address` reports SERVING (UNAVAILABLE until it listens)."""
    async with aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def pid_of(worker_id: str) -> int:
    """Worker ids read <host>-<pid>-<random>."""
    return int(worker_id.rsplit("-", 2)[1])


def runs(log: Path) -> list[tuple[str, int]]:
    """(task id, pid) of every finished handler run, whether reported or not."""
    if not log.exists():
        return []
    return [(task_id, int(pid)) for task_id, pid in (line.split() for line in log.open())]


async def tasks(clients: Clients, ids: list[str]) -> list[task_pb2.Task]:
    return [await get(clients, task_id) for task_id in ids]


async def test_tasks_of_an_executor_cut_off_the_network_are_recovered_by_the_other(
    network: PrivateNetwork, tmp_path: Path
) -> None:
    redis_host = network.add_host("redis")
    scheduler = network.add_host("scheduler")
    cut, kept = network.add_host("executor-1"), network.add_host("executor-2")
    env = service_env(start_redis(network, redis_host, tmp_path / "redis"), scheduler)
    start_service(network, scheduler, "scheduler", env, tmp_path)
    cut_pid = start_service(network, cut, "executor", env, tmp_path).pid
    kept_pid = start_service(network, kept, "executor", env, tmp_path).pid
    log = tmp_path / "runs.log"

    # Both executors serving before any task exists: neither can take all the work.
    for host in (cut, kept):
        address = f"{host.address}:{EXECUTOR_PORT}"
        await wait_until(partial(serving, address), within=120, what=f"executor at {address}")
    settings = Settings(TASKFLOW_SCHEDULER_ADDRESS=env["TASKFLOW_SCHEDULER_ADDRESS"])
    async with connect(settings) as clients:
        ids = [
            await patiently(lambda: create(clients, "tally", TASK_SECONDS, {"log": str(log)}))
            for _ in range(TASKS)
        ]

        async def both_hold_tasks() -> bool:
            holders = Counter(
                pid_of(t.worker_id)
                for t in await tasks(clients, ids)
                if t.state == enums_pb2.TASK_STATE_ACTIVE
            )
            return holders[cut_pid] >= 1 and holders[kept_pid] >= 1

        await wait_until(both_hold_tasks, within=120, what="both executors holding tasks")
        network.cut_off(cut)
        # Read after the cut: nothing the cut-off host does can change these now.
        stranded = {
            t.task_id
            for t in await tasks(clients, ids)
            if t.state == enums_pb2.TASK_STATE_ACTIVE and pid_of(t.worker_id) == cut_pid
        }
        assert stranded, "the cut-off executor held no task: the test proves nothing"

        await all_completed(clients, ids, within=120)
        final = {t.task_id: t for t in await tasks(clients, ids)}

    ran = Counter(runs(log))
    for task_id, task in final.items():
        finisher = pid_of(task.worker_id)
        assert finisher in (cut_pid, kept_pid)
        assert ran[(task_id, finisher)] == 1, f"{task_id} ran {ran[(task_id, finisher)]}x"
        if finisher == cut_pid:
            assert ran[(task_id, kept_pid)] == 0, f"{task_id} ran again after it completed"
    for task_id in stranded:
        task = final[task_id]
        assert pid_of(task.worker_id) == kept_pid, f"{task_id} was not recovered"
        assert task.error_history[-1].error_type == "WorkerLost"
