"""Limits across real executor processes, measured where they are promised: at the
handler. Each handler appends its start and end (time.time()) to a file.

- per_tenant (concurrency 2 per metadata.tenant): never more than 2 handlers of one
  tenant run at once across 3 executors, while one of them is SIGKILLed mid-run; a
  slot its dead worker held frees when the lease expires and the reaper requeues
  the task; every task completes exactly once.
- metered (10 per 2 s): no 2 s window sees more than 10 handler starts, and the
  cluster uses at least 90 % of the allowance while tasks wait.
Tasks held back by a limit keep retry_count 0 and no error_history, and the state
counters equal a SCAN of the task hashes afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from redis.asyncio import Redis

from taskflow.store import Keys, NewTask, Task, TaskState, TaskStore
from taskflow.store.workers import WorkerRegistry
from tests.integration.test_rate_limit_executors import serving
from tests.support.processes import service_env, start_service
from tests.support.stack import scheduler, settings_for
from tests.support.tasks import RATE, RATE_INTERVAL_S, TENANT_LIMIT
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

EXECUTORS, SLOTS = 3, 4
TENANTS, PER_TENANT, RUN_S = ("a", "b", "c"), 10, 0.4
RATED_TASKS, SATURATED_INTERVALS = 6 * RATE, 5
LEASE_S = 2.0
DONE_WITHIN_S = 240.0
# Holds per task (churn) go to the log: docs/state-machine.md quotes them.
log = logging.getLogger(__name__)


@pytest.fixture
def record(tmp_path: Path) -> Path:
    """The file the handlers append their starts and ends to."""
    path = tmp_path / "runs.log"
    path.touch()
    return path


def runs(record: Path) -> list[tuple[str, float, str, str, int]]:
    """(event, time, task id, tenant, pid) per line the handlers wrote."""
    out = []
    for line in record.read_text().splitlines():
        event, at, task_id, tenant, pid = [*line.split(" "), ""][:5]
        out.append((event, float(at), task_id, tenant, int(pid)))
    return out


async def start_executors(
    redis_url: str, client: Redis, log_dir: Path, processes: list[subprocess.Popen[bytes]]
) -> list[subprocess.Popen[bytes]]:
    envs = [
        service_env(
            redis_url,
            WORKER_CONCURRENCY=SLOTS,
            TASKFLOW_LEASE_SECONDS=LEASE_S,
            LOG_LEVEL="WARNING",
        )
        for _ in range(EXECUTORS)
    ]
    started = [
        start_service("executor", env, log_dir / f"executor-{n}.log") for n, env in enumerate(envs)
    ]
    processes.extend(started)
    for env in envs:
        await serving(env["TASKFLOW_EXECUTOR_ADDRESS"])
    registry = WorkerRegistry(client, Keys())

    async def all_working() -> bool:  # a worker beats as its claim loop starts
        return {r.stats.get("pid") for r in await registry.all()} >= {str(p.pid) for p in started}

    await eventually(all_working, within=120, what="every executor's worker claiming")
    return started


async def all_completed(store: TaskStore, count: int) -> None:
    async def done() -> bool:
        states = (await store.status()).states
        assert states[TaskState.DLQ] == 0
        return states[TaskState.COMPLETED] >= count

    await eventually(done, within=DONE_WITHIN_S, what=f"{count} tasks completed")


def limit_holds(task: Task) -> int:
    return sum(1 for entry in task.state_history if "limit" in (entry.reason or ""))


@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_a_tenant_never_runs_more_than_its_limit_while_an_executor_is_killed(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    record: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    async with scheduler(settings_for(redis_url), redis_client):
        executors = await start_executors(redis_url, redis_client, record.parent, processes)
        created = await store.create_many(
            [
                NewTask("per_tenant", f"{RUN_S}", {"tenant": t, "record_to": str(record)})
                for _ in range(PER_TENANT)
                for t in TENANTS
            ]
        )
        victim = executors[0]

        async def victim_running() -> bool:
            return any(pid == victim.pid for e, *_, pid in runs(record) if e == "start")

        await eventually(victim_running, within=120, what="a task running on the first executor")
        victim.kill()
        killed_at = time.time()
        await asyncio.to_thread(victim.wait, 30)
        await all_completed(store, len(created))

    events = runs(record)
    # A run the kill stopped has no end line: it ran until the kill.
    ended = {(task_id, pid) for e, _, task_id, _, pid in events if e == "end"}
    spans: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for event, at, task_id, tenant, pid in events:
        if event == "start":
            spans[tenant] += [(at, 1)]
            if (task_id, pid) not in ended:
                assert pid == victim.pid
                spans[tenant] += [(killed_at, -1)]
        else:
            spans[tenant] += [(at, -1)]
    for tenant, changes in spans.items():
        running, busiest = 0, 0
        for _, change in sorted(changes, key=lambda c: (c[0], c[1])):  # ends first on ties
            running += change
            busiest = max(busiest, running)
        assert busiest <= TENANT_LIMIT, f"tenant {tenant}: {busiest} at once"
        assert busiest == TENANT_LIMIT  # the limit is used, not just respected
    assert any(pid == victim.pid and e == "start" for e, *_, pid in events)

    tasks = [await store.get(c.task_id) for c in created]
    assert all(t.state is TaskState.COMPLETED for t in tasks)
    survivors = {p.pid for p in executors if p is not victim}
    for task in tasks:  # completed once: by the one surviving run that saved it
        finishers = [pid for e, _, tid, _, pid in events if e == "end" and tid == task.task_id]
        assert [pid for pid in finishers if pid in survivors] == [
            int(task.worker_id.split("-")[-2])
        ]
    held = [t for t in tasks if limit_holds(t) and not t.error_history]
    assert held, "no task was ever held back by its tenant's limit"
    assert all(t.retry_count == 0 for t in held)
    await assert_counters_match_hashes(redis_client, store)
    parks = sum(limit_holds(t) for t in tasks)
    log.info("event=concurrency_churn holds=%d tasks=%d", parks, len(tasks))


@pytest.mark.slow
@pytest.mark.timeout(480)
async def test_a_type_rate_limit_holds_at_the_handler_and_is_used(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    record: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    async with scheduler(settings_for(redis_url), redis_client):
        await start_executors(redis_url, redis_client, record.parent, processes)
        created = await store.create_many(
            [NewTask("metered", str(i), {"record_to": str(record)}) for i in range(RATED_TASKS)]
        )
        await all_completed(store, len(created))

    starts = sorted(at for event, at, *_ in runs(record) if event == "start")
    assert len(starts) == RATED_TASKS
    busiest = max(sum(1 for t in starts if s <= t < s + RATE_INTERVAL_S) for s in starts)
    assert busiest <= RATE
    # Tasks waited throughout the first intervals: they should be (nearly) full.
    saturated_s = SATURATED_INTERVALS * RATE_INTERVAL_S
    used = sum(1 for t in starts if t < starts[0] + saturated_s)
    assert used >= 0.9 * RATE * SATURATED_INTERVALS, (
        f"{used} starts in {saturated_s:g} s: {[round(t - starts[0], 3) for t in starts]}"
    )

    tasks = [await store.get(c.task_id) for c in created]
    held = [t for t in tasks if limit_holds(t)]
    assert len(held) >= RATED_TASKS - RATE
    assert all(t.retry_count == 0 and not t.error_history for t in tasks)
    await assert_counters_match_hashes(redis_client, store)
    parks = sum(limit_holds(t) for t in tasks)
    log.info(
        "event=rate_churn holds=%d tasks=%d starts_in_%gs=%d", parks, len(tasks), saturated_s, used
    )
