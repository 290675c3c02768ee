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
from pathlib import Path

import httpx
import pytest

from tests.sdk.conftest import (
    MODULE_LOOP,
    StartWorker,
    addresses,
    grpc_create,
    grpc_task,
    handler_start_counts_the_rate_token,
    payload_reaches_the_worker,
    prefetched_wait_for_a_slot_then_go_back,
    progress_then_cancel,
    registered,
    sigkill_mid_task_then_rescue,
    survives_an_executor_restart,
)
from tests.support.gateway_stack import GatewayStack, wait_for_state

pytestmark = [MODULE_LOOP, pytest.mark.slow]
PACKAGE = Path(__file__).resolve().parents[2] / "sdk" / "typescript"
SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts"
PROTOS = PACKAGE.parents[1] / "proto"
BUILD_CONFIG = ("package.json", "package-lock.json", "tsconfig.json", "buf.gen.yaml")


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


def built_from_current_sources() -> bool:
    """True when sdk/typescript/dist is newer than everything it is built from (its
    sources, tests, config and the protos), as `make test` leaves it: no rebuild."""
    built = [f.stat().st_mtime for f in (PACKAGE / "dist").rglob("*.js")]
    inputs = [
        *(PACKAGE / name for name in BUILD_CONFIG),
        *(f for folder in ("src", "test") for f in (PACKAGE / folder).rglob("*.ts")),
        *PROTOS.rglob("*.proto"),
    ]
    return bool(built) and min(built) >= max(f.stat().st_mtime for f in inputs if f.is_file())


@pytest.fixture(scope="module")
def node_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Node project with the packed SDK installed and the README examples."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for the TypeScript SDK (Node 20+)")
    if not (PACKAGE / "node_modules" / "@connectrpc" / "connect-node").is_dir():
        npm("ci", cwd=PACKAGE)
    if not built_from_current_sources():
        npm("run", "build", cwd=PACKAGE)
    work = tmp_path_factory.mktemp("node")
    # Built just above or by `make test-sdk-typescript`: pack without prepack's rebuild.
    npm("pack", "--ignore-scripts", "--pack-destination", str(work), cwd=PACKAGE)
    (tarball,) = work.glob("asynctaskflow-client-*.tgz")
    app = work / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "private": true, "type": "module"}')
    npm("install", str(tarball), cwd=app)
    for script in [*(PACKAGE / "examples").glob("*.mjs"), SCRIPTS / "remote_worker.mjs"]:
        shutil.copy(script, app / script.name)
    return app


async def node(*args: str, cwd: Path, env: dict[str, str]) -> str:
    """`node args...` with `env` added to ours; its stdout."""
    process = await asyncio.create_subprocess_exec(
        "node", *args, cwd=cwd, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(180):
        out, err = await process.communicate()
    assert process.returncode == 0, f"node {args} failed:\n{err.decode()}\n{out.decode()}"
    return out.decode()


def start_node(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`node script args...` as a process of its own, its output in cwd/<script>.log."""
    with (cwd / f"{script}.log").open("ab") as log:
        return subprocess.Popen(
            ["node", script, *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=log,
        )


async def remote_node_worker(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
    name: str,
) -> Path:
    """A remote_worker.mjs process with worker id `name` (its effects file's stem),
    once it is registered; returns the effects file its handlers append to."""
    log = tmp_path / f"{name}.effects"
    address = stack.settings.executor_address
    workers.append(start_node("remote_worker.mjs", address, str(log), cwd=node_app))
    await registered(http, name)
    return log


def victim_then_rescuer(
    node_app: Path, stack: GatewayStack, workers: list[subprocess.Popen[bytes]], *victim: str
) -> StartWorker:
    """remote_worker.mjs processes for sigkill_mid_task_then_rescue: the victim hangs
    (and has the `victim` flags), the rescuer does not."""
    address = stack.settings.executor_address

    def start(log: Path, hang: bool) -> subprocess.Popen[bytes]:
        flags = ["--hang", *victim] if hang else []
        worker = start_node("remote_worker.mjs", address, str(log), *flags, cwd=node_app)
        workers.append(worker)
        return worker

    return start


async def test_the_packages_own_tests_pass_against_the_services(
    node_app: Path, stack: GatewayStack, redis_url: str
) -> None:
    out = await node("--test", "dist/test/", cwd=PACKAGE, env=addresses(stack))
    assert "# fail 0" in out
    assert "# skipped 0" in out
    assert "# pass 7" in out


async def test_a_node_client_creates_tasks_the_python_executor_runs(
    node_app: Path, stack: GatewayStack, http: httpx.AsyncClient
) -> None:
    answer = json.loads(await node("client.mjs", cwd=node_app, env=addresses(stack)))
    assert answer["state"] == "COMPLETED"
    assert answer["result"].startswith("[extractive summary] ")
    stored = await wait_for_state(http, answer["id"], "COMPLETED")
    assert stored["result"] == answer["result"]


async def test_a_node_worker_runs_tasks_created_from_python(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    worker = start_node("worker.mjs", cwd=node_app, env=addresses(stack))
    workers.append(worker)
    await registered(http, f"-{worker.pid}-")
    ids = await grpc_create(stack, "shout", "hello", "from python", "")
    for task_id, expected in zip(ids[:2], ["HELLO", "FROM PYTHON"], strict=True):
        assert (await wait_for_state(http, task_id, "COMPLETED", within=60))["result"] == expected
        assert (await grpc_task(stack, task_id)).result == expected
    dead = await wait_for_state(http, ids[2], "DLQ", within=60)
    assert (dead["error_type"], dead["last_error"]) == ("PermanentError", "nothing to shout")
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0


@pytest.mark.parametrize("prefetched", [0, 4])
async def test_a_sigkilled_node_worker_loses_nothing_and_nothing_runs_twice(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
    prefetched: int,
) -> None:
    """Its prefetched tasks too (ACTIVE, leased to it, never started): they come back
    when their leases lapse, as the running ones do."""
    start = victim_then_rescuer(node_app, stack, workers, f"--prefetch={prefetched}")
    await sigkill_mid_task_then_rescue(start, "ts_shout", stack, http, tmp_path, prefetched)


async def test_a_node_workers_prefetched_tasks_wait_for_a_slot_and_go_back_when_it_stops(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    def start(log: Path) -> subprocess.Popen[bytes]:
        address = stack.settings.executor_address
        worker = start_node("remote_worker.mjs", address, str(log), "--prefetch=2", cwd=node_app)
        workers.append(worker)
        return worker

    await prefetched_wait_for_a_slot_then_go_back(start, "ts_shout", stack, http, tmp_path)


async def test_a_node_worker_reports_progress_and_its_signal_aborts_on_cancel(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = await remote_node_worker(node_app, stack, http, tmp_path, workers, "node-canceller")
    took = await progress_then_cancel("ts_shout", stack, http, log)
    print(f"node worker: cancel to CANCELLED in {took:.3f} s")


async def test_a_node_worker_reports_handler_starts(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    redis_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = await remote_node_worker(node_app, stack, http, tmp_path, workers, "node-starter")
    await handler_start_counts_the_rate_token("ts_shout", "1000/s", stack, redis_url, log)


async def test_a_node_worker_reads_a_task_payload(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    await remote_node_worker(node_app, stack, http, tmp_path, workers, "node-reader")
    await payload_reaches_the_worker("ts_shout", stack)
    limits = {use["task_type"]: use for use in (await http.get("/api/v1/limits")).json()["limits"]}
    assert limits["ts_shout"]["rate_limit"] == "1000/s"  # declared at Register


async def test_a_node_worker_reconnects_after_an_executor_restart_and_keeps_its_task(
    node_app: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    redis_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    def start(address: str, log: Path) -> subprocess.Popen[bytes]:
        return start_node("remote_worker.mjs", address, str(log), cwd=node_app)

    await survives_an_executor_restart(start, "ts_shout", stack, http, redis_url, tmp_path, workers)
