"""The Python SDK as users install it: its wheel, built from sdk/python and
pip-installed into a fresh venv, used by real processes against the real stack
(scheduler, executor, monitor and gateway on loopback)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from grpc import aio
from redis.asyncio import Redis

from taskflow.redis_server import BundledRedis
from taskflow.v1 import scheduler_service_pb2 as spb
from taskflow.v1 import scheduler_service_pb2_grpc
from tests.support.gateway_stack import GatewayStack, gateway_stack, wait_for_state
from tests.support.sdk_venv import EXAMPLES, build_and_install, run_script, start_script
from tests.support.waiting import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
# Short leases: a killed worker's tasks come back within seconds.
LEASE_SECONDS = 2


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_and_install(tmp_path_factory.mktemp("sdk"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    client = Redis.from_url(redis_server.url)
    try:
        async with gateway_stack(
            redis_server.url, client, TASKFLOW_LEASE_SECONDS=LEASE_SECONDS
        ) as running:
            yield running
    finally:
        await client.aclose()


@pytest.fixture
def http(stack: GatewayStack, redis_url: str) -> httpx.AsyncClient:
    return stack.http


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_the_installed_client_creates_reads_and_waits(
    sdk_python: Path, stack: GatewayStack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    s = stack.settings
    out = await run_script(
        sdk_python, "client_check.py", s.scheduler_address, s.monitor_address, cwd=tmp_path
    )
    seen = json.loads(out)
    assert not seen["services_importable"]
    assert set(seen["installed"]) <= {
        "asynctaskflow-client", "grpcio", "protobuf", "typing-extensions", "pip",
    }  # fmt: skip
    assert seen["first_state"] in {"PENDING", "ACTIVE", "COMPLETED"}
    assert seen["done"] == {
        "state": "COMPLETED",
        "result": "hello from the sdk",
        "metadata": {"client": "sdk"},
    }
    assert seen["idempotent"] == [True, False, True]
    assert seen["batch_results"] == ["item 0", "item 1", "item 2"]
    assert seen["ran"] == ["COMPLETED", "run and wait"]
    assert seen["errors"] == ["InvalidArgument", "NotFound"]


async def registered(http: httpx.AsyncClient, worker_id: str) -> None:
    async def listed() -> bool:
        details = (await http.get("/api/v1/workers/")).json()["worker_details"]
        return any(d["worker_id"] == worker_id for d in details)

    await eventually(listed, within=60, what=f"remote worker {worker_id} registered")


async def create(stack: GatewayStack, *contents: str) -> list[str]:
    """Tasks created from Python over gRPC (the services' own stubs)."""
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        request = spb.BatchCreateTasksRequest(
            tasks=[spb.CreateTaskRequest(task_type="sdk_shout", content=c) for c in contents]
        )
        reply = await stub.BatchCreateTasks(request)
        return [t.task_id for t in reply.tasks]


async def grpc_task(stack: GatewayStack, task_id: str) -> Any:
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        return (await stub.GetTask(spb.GetTaskRequest(task_id=task_id))).task


def effects(path: Path) -> Counter[str]:
    """How often each `start <id>` / `done <id>` line was written."""
    if not path.exists():
        return Counter()
    return Counter(line for line in path.read_text().splitlines() if line)


async def test_a_remote_python_worker_runs_tasks_created_from_python(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = tmp_path / "shouter.effects"
    address = stack.settings.executor_address
    workers.append(start_script(sdk_python, "remote_worker.py", address, str(log), cwd=tmp_path))
    await registered(http, "shouter")
    ids = await create(stack, "hello", "remote", "fail")
    for task_id, expected in zip(ids, ["HELLO", "REMOTE", "FAIL"], strict=True):
        via_rest = await wait_for_state(http, task_id, "COMPLETED", within=60)
        assert via_rest["result"] == expected
        via_grpc = await grpc_task(stack, task_id)
        assert (via_grpc.result, via_grpc.worker_id) == (expected, "shouter")
    retried = await grpc_task(stack, ids[2])
    assert (retried.retry_count, retried.error_type) == (1, "RateLimitError")
    assert effects(log)[f"done {ids[0]}"] == 1


async def test_a_sigkilled_remote_worker_loses_nothing_and_nothing_runs_twice(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    address = stack.settings.executor_address
    first_log, second_log = tmp_path / "victim.effects", tmp_path / "rescuer.effects"
    victim = start_script(
        sdk_python, "remote_worker.py", address, str(first_log), "--hang", cwd=tmp_path
    )
    workers.append(victim)
    await registered(http, "victim")
    contents = ["hang" if i % 5 == 0 else f"task {i}" for i in range(30)]
    ids = await create(stack, *contents)
    hanging = {task_id for task_id, c in zip(ids, contents, strict=True) if c == "hang"}

    async def stuck_with_all_results_saved() -> bool:
        seen = effects(first_log)
        held = sum(seen[f"start {i}"] for i in hanging)
        done = sum(n for line, n in seen.items() if line.startswith("done "))
        completed = (await http.get("/api/v1/queues/status")).json()["states"]["COMPLETED"]
        return held == 4 and completed == done

    # Its four slots hang mid-task; every task it finished before is saved.
    await eventually(stuck_with_all_results_saved, within=60, what="the victim stuck mid-task")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    workers.append(
        start_script(sdk_python, "remote_worker.py", address, str(second_log), cwd=tmp_path)
    )
    for task_id in ids:
        await wait_for_state(http, task_id, "COMPLETED", within=90)
    done = effects(first_log) + effects(second_log)
    assert {task_id: done[f"done {task_id}"] for task_id in ids} == dict.fromkeys(ids, 1)
    killed = [i for i in hanging if effects(first_log)[f"start {i}"]]
    assert len(killed) == 4
    for task_id in killed:
        task = await grpc_task(stack, task_id)
        assert (task.retry_count, task.error_type, task.worker_id) == (1, "WorkerLost", "rescuer")
    assert sum(n for line, n in done.items() if line.startswith("done ")) == len(ids)


async def test_the_readme_examples_run_as_written(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    s = stack.settings
    env = {
        "TASKFLOW_SCHEDULER_ADDRESS": s.scheduler_address,
        "TASKFLOW_MONITOR_ADDRESS": s.monitor_address,
        "TASKFLOW_EXECUTOR_ADDRESS": s.executor_address,
    }
    answer = json.loads(
        await run_script(sdk_python, str(EXAMPLES / "client.py"), cwd=tmp_path, env=env)
    )
    assert answer["state"] == "COMPLETED"
    assert answer["result"].startswith("[extractive summary] ")
    worker = start_script(sdk_python, str(EXAMPLES / "worker.py"), cwd=tmp_path, env=env)
    workers.append(worker)

    async def reverse_registered() -> bool:
        details = (await http.get("/api/v1/workers/")).json()["worker_details"]
        return any(f"-{worker.pid}-" in d["worker_id"] for d in details)

    await eventually(reverse_registered, within=60, what="the example worker registered")
    reply = await http.post("/api/v1/tasks", json={"task_type": "reverse", "content": "stressed"})
    assert reply.status_code == 201, reply.text
    done = await wait_for_state(http, reply.json()["task_id"], "COMPLETED", within=60)
    assert done["result"] == "desserts"
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0
