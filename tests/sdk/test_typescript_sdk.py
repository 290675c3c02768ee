"""The TypeScript SDK as Node users get it: `npm pack` of sdk/typescript installed
into an empty Node project, its README examples run there as real processes against
the real stack, and the package's own tests run against the same services."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
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
from tests.support.waiting import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]
PACKAGE = Path(__file__).resolve().parents[2] / "sdk" / "typescript"


def npm(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        ["npm", *args, "--no-audit", "--no-fund"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"npm {args} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def node_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Node project with the packed SDK installed and the README examples."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the TypeScript SDK (Node 20+)")
    if not (PACKAGE / "node_modules" / "@connectrpc" / "connect-node").is_dir():
        npm("ci", cwd=PACKAGE)
    npm("run", "build", cwd=PACKAGE)
    work = tmp_path_factory.mktemp("node")
    npm("pack", "--pack-destination", str(work), cwd=PACKAGE)
    (tarball,) = work.glob("asynctaskflow-client-*.tgz")
    app = work / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "private": true, "type": "module"}')
    npm("install", str(tarball), cwd=app)
    for example in (PACKAGE / "examples").glob("*.mjs"):
        shutil.copy(example, app / example.name)
    return app


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(redis_server: BundledRedis) -> AsyncIterator[GatewayStack]:
    client = Redis.from_url(redis_server.url)
    try:
        async with gateway_stack(redis_server.url, client) as running:
            yield running
    finally:
        await client.aclose()


@pytest.fixture
def http(stack: GatewayStack, redis_url: str) -> httpx.AsyncClient:
    return stack.http


def addresses(stack: GatewayStack) -> dict[str, str]:
    s = stack.settings
    return {
        **os.environ,
        "TASKFLOW_SCHEDULER_ADDRESS": s.scheduler_address,
        "TASKFLOW_MONITOR_ADDRESS": s.monitor_address,
        "TASKFLOW_EXECUTOR_ADDRESS": s.executor_address,
    }


async def node(*args: str, cwd: Path, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        "node", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(180):
        out, err = await process.communicate()
    assert process.returncode == 0, f"node {args} failed:\n{err.decode()}\n{out.decode()}"
    return out.decode()


def start_node(script: str, *, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`node script` as a process of its own, its output in cwd/<script>.log."""
    with (cwd / f"{script}.log").open("ab") as log:
        return subprocess.Popen(["node", script], cwd=cwd, env=env, stdout=log, stderr=log)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def test_the_packages_own_tests_pass_against_the_services(
    node_app: Path, stack: GatewayStack, redis_url: str
) -> None:
    out = await node("--test", "dist/test/", cwd=PACKAGE, env=addresses(stack))
    assert "# fail 0" in out
    assert "# skipped 0" in out
    assert "# pass 5" in out


async def test_a_node_client_creates_tasks_the_python_executor_runs(
    node_app: Path, stack: GatewayStack, http: httpx.AsyncClient
) -> None:
    answer = json.loads(await node("client.mjs", cwd=node_app, env=addresses(stack)))
    assert answer["state"] == "COMPLETED"
    assert answer["result"].startswith("[extractive summary] ")
    stored = await wait_for_state(http, answer["id"], "COMPLETED")
    assert stored["result"] == answer["result"]


async def grpc_create(stack: GatewayStack, task_type: str, *contents: str) -> list[str]:
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        request = spb.BatchCreateTasksRequest(
            tasks=[spb.CreateTaskRequest(task_type=task_type, content=c) for c in contents]
        )
        return [t.task_id for t in (await stub.BatchCreateTasks(request)).tasks]


async def grpc_task(stack: GatewayStack, task_id: str) -> Any:
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        return (await stub.GetTask(spb.GetTaskRequest(task_id=task_id))).task


async def test_a_node_worker_runs_tasks_created_from_python(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    started: list[subprocess.Popen[bytes]],
) -> None:
    worker = start_node("worker.mjs", cwd=node_app, env=addresses(stack))
    started.append(worker)

    async def registered() -> bool:
        details = (await http.get("/api/v1/workers/")).json()["worker_details"]
        return any(f"-{worker.pid}-" in d["worker_id"] for d in details)

    await eventually(registered, within=60, what="the Node worker registered")
    ids = await grpc_create(stack, "shout", "hello", "from python", "")
    for task_id, expected in zip(ids[:2], ["HELLO", "FROM PYTHON"], strict=True):
        assert (await wait_for_state(http, task_id, "COMPLETED", within=60))["result"] == expected
        assert (await grpc_task(stack, task_id)).result == expected
    dead = await wait_for_state(http, ids[2], "DLQ", within=60)
    assert (dead["error_type"], dead["last_error"]) == ("PermanentError", "nothing to shout")
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0
