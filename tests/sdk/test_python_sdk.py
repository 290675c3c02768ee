"""The Python SDK as users install it: its wheel, built from sdk/python and
pip-installed into a fresh venv, used by real processes against the real stack
(scheduler, executor, monitor and gateway on loopback)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import grpc
import httpx
import pytest
from grpc import aio

from taskflow.v1 import schedule_pb2, scheduler_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as spb
from tests.sdk.conftest import (
    MODULE_LOOP,
    addresses,
    effects,
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
from tests.support.sdk_venv import EXAMPLES, run_script, start_script
from tests.support.waiting import eventually

pytestmark = [MODULE_LOOP, pytest.mark.slow]


async def remote_python_worker(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
    name: str,
) -> Path:
    """A remote_worker.py process with worker id `name` (its effects file's stem),
    once it is registered; returns the effects file its handlers append to."""
    log = tmp_path / f"{name}.effects"
    address = stack.settings.executor_address
    workers.append(start_script(sdk_python, "remote_worker.py", address, str(log), cwd=tmp_path))
    await registered(http, name)
    return log


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
    assert seen["cancelled"] == ["CANCELLED", "CANCELLED", "refused"]
    assert seen["schedules"] == {
        "created": [3600.0, "SKIP", {"from": "sdk"}, False],
        "listed": True,
        "updated": ["tock", "0 * * * *", None],
        "paused": [True, True],
        "resumed": [False, True],
        "triggered": ["COMPLETED", "tock", True, 1],
        "deleted": True,
    }


@pytest.mark.parametrize("flavour", ["async", "sync"])
async def test_the_installed_client_retries_deletes_reads_logs_and_administers(
    sdk_python: Path, stack: GatewayStack, redis_url: str, tmp_path: Path, flavour: str
) -> None:
    """`redis_url` empties Redis first: the DLQ and cleanup counts are this test's.
    TaskflowSyncClient goes through the same checks as TaskflowClient (parity)."""
    s = stack.settings
    out = await run_script(
        sdk_python,
        "admin_check.py",
        s.scheduler_address,
        s.monitor_address,
        flavour,
        cwd=tmp_path,
    )
    seen = json.loads(out)
    assert seen["dlq"] is True
    assert (seen["list"], seen["list_pages"]) == ([True, 2], [1, 2])
    assert seen["types"] == [True, False]  # noop is built in, doomed a test module's
    assert seen["retry"] == "PENDING"
    assert (seen["retried_all"], seen["purged"], seen["dlq_after_purge"]) == (2, 2, 0)
    assert seen["logs"] == [[1, "INFO", "chatty step 1"], [2, "WARNING", "chatty step 2"]]
    assert seen["logs_after"] == [0, False]
    assert seen["retry_completed"] == "refused"
    assert seen["deleted"] is True
    assert seen["queue_ids"] is True
    assert seen["cancel_many"] == [3, 0]
    assert (seen["cleanup_young"], seen["cleanup"], seen["cleaned_up"]) == (0, 3, 3)
    assert seen["requeued"] == 0
    assert seen["corrupt"] == [0, []]
    assert seen["dropped"] == 0
    assert seen["refused"] == ["InvalidArgument", "NotFound", "NotFound"]
    assert "sleeping" in seen["bad_state"]


async def test_the_installed_sync_client_creates_reads_and_waits_without_a_loop(
    sdk_python: Path, stack: GatewayStack, tmp_path: Path
) -> None:
    s = stack.settings
    out = await run_script(
        sdk_python, "sync_client_check.py", s.scheduler_address, s.monitor_address, cwd=tmp_path
    )
    seen = json.loads(out)
    assert seen["done"] == {
        "state": "COMPLETED",
        "result": "hello, blocking",
        "metadata": {"client": "sync"},
    }
    assert seen["idempotent"] == [True, False, True]
    assert seen["batch_results"] == ["item 0", "item 1", "item 2"]
    assert seen["ran"] == ["COMPLETED", "run and wait"]
    assert seen["shared"] == 16
    assert seen["cancelled"] == ["CANCELLED", "CANCELLED"]
    assert seen["errors"] == [
        "InvalidArgument",
        "NotFound",
        "LeaseLost",
        "TaskflowError StatusCode.DEADLINE_EXCEEDED",
    ]


async def test_a_remote_python_worker_runs_tasks_created_from_python(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = await remote_python_worker(sdk_python, stack, http, tmp_path, workers, "shouter")
    ids = await grpc_create(stack, "sdk_shout", "hello", "remote", "fail")
    for task_id, expected in zip(ids, ["HELLO", "REMOTE", "FAIL"], strict=True):
        via_rest = await wait_for_state(http, task_id, "COMPLETED", within=60)
        assert via_rest["result"] == expected
        via_grpc = await grpc_task(stack, task_id)
        assert (via_grpc.result, via_grpc.worker_id) == (expected, "shouter")
    retried = await grpc_task(stack, ids[2])
    assert (retried.retry_count, retried.error_type) == (1, "RateLimitError")
    assert effects(log)[f"done {ids[0]}"] == 1
    limits = {use["task_type"]: use for use in (await http.get("/api/v1/limits")).json()["limits"]}
    assert limits["sdk_shout"]["rate_limit"] == "1000/s"


@pytest.mark.parametrize("prefetched", [0, 4])
async def test_a_sigkilled_remote_worker_loses_nothing_and_nothing_runs_twice(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
    prefetched: int,
) -> None:
    """Its prefetched tasks too (ACTIVE, leased to it, never started)."""
    address = stack.settings.executor_address

    def start(log: Path, hang: bool) -> subprocess.Popen[bytes]:
        flags = ["--hang", f"--prefetch={prefetched}"] if hang else []
        worker = start_script(
            sdk_python, "remote_worker.py", address, str(log), *flags, cwd=tmp_path
        )
        workers.append(worker)
        return worker

    await sigkill_mid_task_then_rescue(start, "sdk_shout", stack, http, tmp_path, prefetched)


async def test_a_remote_python_workers_prefetched_tasks_wait_for_a_slot_and_go_back(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    def start(log: Path) -> subprocess.Popen[bytes]:
        address = stack.settings.executor_address
        worker = start_script(
            sdk_python, "remote_worker.py", address, str(log), "--prefetch=2", cwd=tmp_path
        )
        workers.append(worker)
        return worker

    await prefetched_wait_for_a_slot_then_go_back(start, "sdk_shout", stack, http, tmp_path)


async def test_the_readme_examples_run_as_written(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    env = addresses(stack)
    answer = json.loads(
        await run_script(sdk_python, str(EXAMPLES / "client.py"), cwd=tmp_path, env=env)
    )
    assert answer["state"] == "COMPLETED"
    assert answer["result"].startswith("[extractive summary] ")
    worker = start_script(sdk_python, str(EXAMPLES / "worker.py"), cwd=tmp_path, env=env)
    workers.append(worker)

    await registered(http, f"-{worker.pid}-")
    reply = await http.post("/api/v1/tasks", json={"task_type": "reverse", "content": "stressed"})
    assert reply.status_code == 201, reply.text
    done = await wait_for_state(http, reply.json()["task_id"], "COMPLETED", within=60)
    assert done["result"] == "desserts"
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(worker.wait, 30) == 0


async def test_a_schedule_fires_tasks_a_remote_python_worker_runs(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    await remote_python_worker(sdk_python, stack, http, tmp_path, workers, "shouter")
    spec = schedule_pb2.ScheduleSpec(task_type="sdk_shout", content="tick")
    spec.interval.FromSeconds(1)
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        made = await stub.CreateSchedule(spb.CreateScheduleRequest(spec=spec))
        sid = made.schedule.schedule_id
        triggered = await stub.TriggerSchedule(spb.TriggerScheduleRequest(schedule_id=sid))

        async def fired_twice() -> bool:
            got = await stub.GetSchedule(spb.GetScheduleRequest(schedule_id=sid))
            return got.schedule.fire_count >= 3  # the trigger and two fire times

        await eventually(fired_twice, within=60, what="the schedule's firings")
        await stub.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id=sid))
        unknown = schedule_pb2.ScheduleSpec(task_type="nobody_serves_this", content="x")
        unknown.interval.FromSeconds(1)
        with pytest.raises(aio.AioRpcError) as refused:
            await stub.CreateSchedule(spb.CreateScheduleRequest(spec=unknown))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    listed = (await http.get("/api/v1/tasks/", params={"task_type": "sdk_shout"})).json()
    fired = {t["task_id"] for t in listed["tasks"]} | {triggered.task_id}
    assert len(fired) >= 3
    for task_id in fired:
        via_rest = await wait_for_state(http, task_id, "COMPLETED", within=60)
        assert via_rest["result"] == "TICK"
        assert (await grpc_task(stack, task_id)).worker_id == "shouter"


async def test_a_remote_python_worker_reports_progress_and_stops_when_cancelled(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = await remote_python_worker(sdk_python, stack, http, tmp_path, workers, "canceller")
    took = await progress_then_cancel("sdk_shout", stack, http, log)
    print(f"python worker: cancel to CANCELLED in {took:.3f} s")


async def test_a_remote_python_worker_reports_handler_starts(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    redis_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    log = await remote_python_worker(sdk_python, stack, http, tmp_path, workers, "starter")
    await handler_start_counts_the_rate_token("sdk_shout", "1000/s", stack, redis_url, log)


async def test_a_remote_python_worker_reads_a_task_payload(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    await remote_python_worker(sdk_python, stack, http, tmp_path, workers, "reader")
    await payload_reaches_the_worker("sdk_shout", stack)


async def test_a_remote_worker_reconnects_after_an_executor_restart_and_keeps_its_task(
    sdk_python: Path,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    redis_url: str,
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    def start(address: str, log: Path) -> subprocess.Popen[bytes]:
        return start_script(sdk_python, "remote_worker.py", address, str(log), cwd=tmp_path)

    await survives_an_executor_restart(
        start, "sdk_shout", stack, http, redis_url, tmp_path, workers
    )
