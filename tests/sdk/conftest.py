"""The SDKs against the whole stack: one stack per test module (tests of a module
share its event loop), an empty Redis for each test, and the worker processes a
test starts, stopped with SIGTERM at its end."""

from __future__ import annotations

import asyncio
import hashlib
import random
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc import aio
from redis.asyncio import Redis

from taskflow.limits import parse_rate
from taskflow.redis_server import BundledRedis
from taskflow.store.keys import Keys
from taskflow.store.limits import START_MARGIN_MS, START_WITHIN_S
from taskflow.v1 import enums_pb2, scheduler_service_pb2_grpc, worker_service_pb2_grpc
from taskflow.v1 import scheduler_service_pb2 as spb
from taskflow.v1 import worker_service_pb2 as wpb
from tests.support.gateway_stack import GatewayStack, gateway_stack, wait_for_state
from tests.support.processes import service_env, start_service
from tests.support.sdk_venv import build_and_install
from tests.support.waiting import eventually

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
# Short leases: a killed worker's tasks come back within seconds.
LEASE_SECONDS = 2


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


@pytest.fixture(scope="session")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python SDK's wheel, built once per run (per xdist worker) and installed
    into a fresh venv that holds nothing else: that venv's python."""
    return build_and_install(tmp_path_factory.mktemp("sdk"))


@pytest.fixture
def http(stack: GatewayStack, redis_url: str) -> httpx.AsyncClient:
    """The gateway's client; `redis_url` empties Redis before the test."""
    return stack.http


@pytest_asyncio.fixture(loop_scope="module")
async def workers() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test starts; any still running at its end get SIGTERM.

    Waited for off the loop: the stack's in-process executor, on this loop, must go on
    answering while a worker stops gracefully (a blocking wait stalled each for 30 s)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def addresses(stack: GatewayStack) -> dict[str, str]:
    """Where the services listen, as the SDK examples read it from the environment."""
    s = stack.settings
    return {
        "TASKFLOW_SCHEDULER_ADDRESS": s.scheduler_address,
        "TASKFLOW_MONITOR_ADDRESS": s.monitor_address,
        "TASKFLOW_EXECUTOR_ADDRESS": s.executor_address,
    }


async def registered(http: httpx.AsyncClient, marker: str) -> None:
    """Until a worker whose id holds `marker` is listed (its stream is registered)."""

    async def listed() -> bool:
        details = (await http.get("/api/v1/workers/")).json()["worker_details"]
        return any(marker in d["worker_id"] for d in details)

    await eventually(listed, within=60, what=f"a remote worker {marker!r} registered")


async def grpc_create(stack: GatewayStack, task_type: str, *contents: str) -> list[str]:
    """Tasks created from Python over gRPC (the services' own stubs), in one batch."""
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        request = spb.BatchCreateTasksRequest(
            tasks=[spb.CreateTaskRequest(task_type=task_type, content=c) for c in contents]
        )
        return [t.task_id for t in (await stub.BatchCreateTasks(request)).tasks]


async def grpc_task(stack: GatewayStack, task_id: str) -> Any:
    """The task as SchedulerService.GetTask answers."""
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        return (await stub.GetTask(spb.GetTaskRequest(task_id=task_id))).task


def effects(path: Path) -> Counter[str]:
    """How often each `start <id>` / `done <id>` line was written by a test worker."""
    if not path.exists():
        return Counter()
    return Counter(line for line in path.read_text().splitlines() if line)


StartWorker = Callable[[Path, bool], subprocess.Popen[bytes]]


async def sigkill_mid_task_then_rescue(
    start: StartWorker,
    task_type: str,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp: Path,
    prefetched: int = 0,
) -> None:
    """A worker (`start(effects file, hang)`, id = the file's stem) is SIGKILLed while
    its four slots hang mid-task, `prefetched` more tasks wait in it for a slot (ACTIVE,
    leased to it, never started) and everything it finished before is saved; a second
    worker then runs the rest. Every task completes, and its work was done exactly once."""
    first_log, second_log = tmp / "victim.effects", tmp / "rescuer.effects"
    victim = start(first_log, True)
    await registered(http, "victim")
    contents = ["hang" if i % 5 == 0 else f"task {i}" for i in range(30)]
    ids = await grpc_create(stack, task_type, *contents)
    hanging = {task_id for task_id, c in zip(ids, contents, strict=True) if c == "hang"}

    async def stuck_with_all_results_saved() -> bool:
        seen = effects(first_log)
        held = sum(seen[f"start {i}"] for i in hanging)
        done = sum(n for line, n in seen.items() if line.startswith("done "))
        states = (await http.get("/api/v1/queues/status")).json()["states"]
        return held == 4 and states["COMPLETED"] == done and states["ACTIVE"] == 4 + prefetched

    await eventually(stuck_with_all_results_saved, within=60, what="the victim stuck mid-task")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    start(second_log, False)
    for task_id in ids:
        await wait_for_state(http, task_id, "COMPLETED", within=90)
    done = effects(first_log) + effects(second_log)
    assert {task_id: done[f"done {task_id}"] for task_id in ids} == dict.fromkeys(ids, 1)
    killed = [i for i in hanging if effects(first_log)[f"start {i}"]]
    assert len(killed) == 4
    for task_id in killed:
        task = await grpc_task(stack, task_id)
        assert (task.retry_count, task.error_type, task.worker_id) == (1, "WorkerLost", "rescuer")
    # The prefetched ones came back as the hanging ones did, when their leases lapsed.
    unstarted = [i for i in ids if not effects(first_log)[f"start {i}"]]
    lost = [i for i in unstarted if (await grpc_task(stack, i)).error_type == "WorkerLost"]
    assert len(lost) == prefetched


async def prefetched_wait_for_a_slot_then_go_back(
    start: Callable[[Path], subprocess.Popen[bytes]],
    task_type: str,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    tmp: Path,
) -> None:
    """A worker of 4 slots prefetching 2 (`start(effects file)`, id "prefetcher") holds
    6 tasks and runs 4; a client's cancel of a prefetched one ends it CANCELLED without
    its handler ever running; on SIGTERM the other prefetched one goes back to PENDING
    at once, while the running ones finish."""
    log = tmp / "prefetcher.effects"
    worker = start(log)
    await registered(http, "prefetcher")
    ids = await grpc_create(stack, task_type, *["hold"] * 6)

    async def four_running_six_held() -> bool:
        holding = sum(effects(log)[f"holding {i}"] for i in ids)
        active = (await http.get("/api/v1/queues/status")).json()["states"]["ACTIVE"]
        return holding == 4 and active == 6

    await eventually(four_running_six_held, within=60, what="4 tasks running, 2 prefetched")
    running = [i for i in ids if effects(log)[f"holding {i}"]]
    cancelled, handed_back = (i for i in ids if i not in running)
    reply = await http.post(f"/api/v1/tasks/{cancelled}/cancel", json={})
    assert reply.status_code == 200, reply.text
    await wait_for_state(http, cancelled, "CANCELLED", within=60)
    worker.send_signal(signal.SIGTERM)
    back = await wait_for_state(http, handed_back, "PENDING", within=60)
    assert back["retry_count"] == 0
    await asyncio.to_thread(_append, log, "\n".join(f"go {i}" for i in running))
    assert await asyncio.to_thread(worker.wait, 30) == 0
    for task_id in running:
        assert (await wait_for_state(http, task_id, "COMPLETED", within=60))["result"] == "HOLD"
    seen = effects(log)
    assert [seen[f"start {i}"] for i in (cancelled, handed_back)] == [0, 0]
    assert [seen[f"done {i}"] for i in running] == [1, 1, 1, 1]


async def progress_then_cancel(
    task_type: str, stack: GatewayStack, http: httpx.AsyncClient, log: Path
) -> float:
    """A `wait` task run by the worker writing `log` reports progress 0.5 "halfway"
    (stored as our own workers' progress), is cancelled by a client mid-task, and its
    handler is stopped and the task ends CANCELLED, its work never done. Returns the
    seconds from the cancel call to the CANCELLED state (measured, not asserted)."""
    (task_id,) = await grpc_create(stack, task_type, "wait")

    async def reported() -> bool:
        task = (await http.get(f"/api/v1/tasks/{task_id}")).json()
        return (task.get("progress"), task.get("progress_message")) == (0.5, "halfway")

    await eventually(reported, within=60, what="the handler's progress stored")
    assert await logged(stack, task_id) == [("INFO", task_type, "shouting 4 characters")]
    assert effects(log)[f"waiting {task_id}"] == 1
    loop = asyncio.get_running_loop()
    asked = loop.time()
    reply = await http.post(f"/api/v1/tasks/{task_id}/cancel", json={})
    assert reply.status_code == 200, reply.text
    await wait_for_state(http, task_id, "CANCELLED", within=60)
    took = loop.time() - asked
    await eventually(
        lambda: has_line(log, f"cancelled {task_id}"), within=30, what="the handler cancelled"
    )
    assert effects(log)[f"done {task_id}"] == 0
    return took


async def logged(stack: GatewayStack, task_id: str) -> list[tuple[str, str, str]]:
    """The task's stored log lines (GetTaskLogs): level, logger, message."""
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        reply = await stub.GetTaskLogs(spb.GetTaskLogsRequest(task_id=task_id))
    return [(line.level, line.logger, line.message) for line in reply.lines]


async def payload_reaches_the_worker(task_type: str, stack: GatewayStack) -> None:
    """A task's binary payload, larger than one GetTaskPayload chunk, reaches the
    handler whole; asking with a lease that is not held is refused."""
    payload = random.Random(18).randbytes(2_500_000)
    async with aio.insecure_channel(stack.settings.scheduler_address) as channel:
        stub = scheduler_service_pb2_grpc.SchedulerServiceStub(channel)
        request = spb.CreateTaskRequest(task_type=task_type, content="payload", payload=payload)
        task_id = (await stub.CreateTask(request)).task_id

    async def completed() -> bool:
        state: int = (await grpc_task(stack, task_id)).state
        return state == enums_pb2.TASK_STATE_COMPLETED

    await eventually(completed, within=60, what=f"task {task_id} completed")
    expected = f"{len(payload)} {hashlib.sha256(payload).hexdigest()}"
    assert (await grpc_task(stack, task_id)).result == expected
    async with aio.insecure_channel(stack.settings.executor_address) as channel:
        worker_stub = worker_service_pb2_grpc.WorkerServiceStub(channel)
        stale = wpb.GetTaskPayloadRequest(task_id=task_id, lease_token="not-the-lease")
        with pytest.raises(aio.AioRpcError) as refused:
            async for _ in worker_stub.GetTaskPayload(stale):
                pass
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def has_line(path: Path, line: str) -> bool:
    """True once `line` was written to the side-effect file at `path`."""
    return effects(path)[line] > 0


async def survives_an_executor_restart(
    start: Callable[[str, Path], subprocess.Popen[bytes]],
    task_type: str,
    stack: GatewayStack,
    http: httpx.AsyncClient,
    redis_url: str,
    tmp: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """A worker (`start(executor address, effects file)`, id "survivor") whose executor
    (a process) is SIGKILLed mid-task and started again on the same port: the worker
    reconnects, registers again naming the task it still runs, the new stream renews
    that task's lease (30 s here: it never lapses meanwhile) and takes its outcome;
    tasks created while the executor was down run too. Every task completes exactly
    once, on its first attempt."""
    log = tmp / "survivor.effects"
    env = service_env(redis_url, TASKFLOW_LEASE_SECONDS=30)
    client = Redis.from_url(redis_url)
    leases = Keys().leases
    try:
        executor = start_service("executor", env, tmp / "executor.log")
        workers.append(executor)
        worker = start(env["TASKFLOW_EXECUTOR_ADDRESS"], log)
        workers.append(worker)
        await registered(http, "survivor")
        (held,) = await grpc_create(stack, task_type, "hold")
        await eventually(lambda: has_line(log, f"holding {held}"), within=60, what="held")
        first_deadline = await client.zscore(leases, held)
        assert first_deadline is not None
        executor.send_signal(signal.SIGKILL)
        await asyncio.to_thread(executor.wait, 30)
        later = await grpc_create(stack, task_type, "while", "down")
        workers.append(start_service("executor", env, tmp / "executor.log"))

        async def renewed_by_the_new_stream() -> bool:
            deadline = await client.zscore(leases, held)
            return deadline is not None and deadline > first_deadline

        await eventually(renewed_by_the_new_stream, within=60, what="the lease renewed")
        with log.open("a") as out:
            out.write(f"go {held}\n")
        for task_id in [held, *later]:
            await wait_for_state(http, task_id, "COMPLETED", within=90)
        task = await grpc_task(stack, held)
        assert (task.result, task.retry_count, task.worker_id) == ("HOLD", 0, "survivor")
        done = effects(log)
        assert [done[f"done {t}"] for t in [held, *later]] == [1, 1, 1]
        assert done[f"start {held}"] == 1
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 30) == 0
    finally:
        await client.aclose()


async def handler_start_counts_the_rate_token(
    task_type: str, rate: str, stack: GatewayStack, redis_url: str, log: Path
) -> None:
    """A `hold` task of a rate-limited type (`rate`, declared by the worker writing
    `log`): the worker reports its handler's start, so while it runs its rate token
    already counts from that start (docs/state-machine.md, Limits), not from the
    claim's start deadline (claim + START_WITHIN_S), as an unreported start would."""
    (task_id,) = await grpc_create(stack, task_type, "hold")
    await eventually(lambda: has_line(log, f"holding {task_id}"), within=60, what="started")
    client = Redis.from_url(redis_url)
    try:
        token = await client.hget(f"task:{task_id}", "rate_token")
        assert token, "a task of a rate-limited type is claimed with a token"
        pending, sends = (f"limits:rate_{part}:{task_type}" for part in ("pending", "sends"))

        async def counted() -> bool:
            return await client.zscore(sends, token) is not None

        await eventually(counted, within=60, what="the start reported")
        assert await client.zscore(pending, token) is None
        back_ms = await client.zscore(sends, token)
        assert back_ms is not None
        started_at = (await grpc_task(stack, task_id)).started_at.ToMilliseconds()
        _, interval_ms = parse_rate(rate)
        counted_from = back_ms - interval_ms - START_MARGIN_MS
        # from the start, after the claim and before its deadline (without the report
        # the token would count from exactly claim + START_WITHIN_S)
        assert started_at <= counted_from < started_at + START_WITHIN_S * 1000
        await asyncio.to_thread(_append, log, f"go {task_id}")
        await wait_for_state(stack.http, task_id, "COMPLETED", within=60)
    finally:
        await client.aclose()


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line + "\n")
