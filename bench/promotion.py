"""Lag of delayed tasks (issue 15): N tasks due at the same moment.

    uv run --frozen python -m bench.promotion [--tasks 100000] [--schedulers 1] [--executors 1]

Creates N no-op tasks with one run time (far enough ahead that creating them all
ends first), runs the scheduler's promotion duty (one per --schedulers, as replicas
would) and --executors `taskflow executor` processes at default settings (0: the
duty alone, as before the claim took due tasks itself), and reports, from the Redis
clock stamps in each task's history, how long after its run time each became
PENDING and (with executors) ACTIVE: the first, median, p99 and the last. Since due
means PENDING (docs/state-machine.md, "Delayed tasks") the PENDING entry carries the
due time itself, so the lags that matter are measured live, on the Redis clock, from
the run time: until GetTask (the store's read) shows the task promoted last PENDING,
until every due id is on its list (claimable by the list path), and until every
hash is promoted (tasks:scheduled empty). Also the CPU time of the
server's main thread meanwhile (INFO cpu), which a loaded machine hardly moves; and
the longest any one command (a promotion call included) held the server meanwhile
(LATENCY LATEST, wall time: on a loaded machine it includes the time the server
waited for a core).
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bench.common import SEED_BATCH, Timer, bundled_server, host, server_cpu_s
from bench.ours_side import service
from bench.versus_extras import serving
from services.scheduler.duties import promote_due_retries
from services.scheduler.metrics import SchedulerMetrics
from taskflow.redis_server import free_port
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.store.history import logged_states
from taskflow.store.replies import text

# Seconds between the planned end of creation and the common run time.
LEAD_S = 5.0
# Creation rate assumed to pick the run time before creating (checked afterwards;
# a third of what a loaded machine reaches, so creating ends before the tasks are due).
CREATE_PER_S = 3_000
# Commands that held the server at least this long are recorded (LATENCY LATEST).
LATENCY_THRESHOLD_MS = 5


@dataclass
class Lags:
    pending: list[float]
    active: list[float]


@dataclass
class Milestones:
    """Seconds from the run time, on the Redis clock (polled every few ms)."""

    shown: float = -1.0  # GetTask shows the task promoted last PENDING (or later)
    on_lists: float = -1.0  # every due id moved onto its list
    promoted: float = -1.0  # every hash caught up: tasks:scheduled empty
    on_lists_cpu_s: float = 0.0  # the server's CPU by then (INFO cpu, main thread)


async def run(total: int, schedulers: int, executors: int) -> None:
    with (
        bundled_server() as server,
        tempfile.TemporaryDirectory(prefix="bench-promotion-") as tmp,
        ExitStack() as running,
    ):
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        for _ in range(executors):
            address = f"127.0.0.1:{free_port()}"
            running.enter_context(
                service("executor", server.url, Path(tmp), TASKFLOW_EXECUTOR_ADDRESS=address)
            )
            await serving(address)
        due = datetime.now(UTC) + timedelta(seconds=total / CREATE_PER_S + LEAD_S)
        ids: list[str] = []
        with Timer() as created:
            for start in range(0, total, SEED_BATCH):
                count = min(SEED_BATCH, total - start)
                made = await store.create_many([NewTask("noop", "x", run_at=due)] * count)
                ids += [c.task_id for c in made]
        left = (due - datetime.now(UTC)).total_seconds()
        assert left > 0, "creating took longer than planned: raise LEAD_S"
        await client.config_set("latency-monitor-threshold", LATENCY_THRESHOLD_MS)
        await client.latency_reset()
        cpu_before = await server_cpu_s(client)
        stop = asyncio.Event()
        duties = [
            asyncio.create_task(promote_due_retries(store, SchedulerMetrics(), stop))
            for _ in range(schedulers)
        ]
        marks = await watch(client, store, max(ids), due)
        await until_moved(client, store, total if executors else 0)
        stop.set()
        await asyncio.gather(*duties)
        server_s = await server_cpu_s(client) - cpu_before
        longest_ms = await longest_command_ms(client)
        lags = await history_lags(client, store, ids, due)
        await client.aclose()
    print(host())
    print(f"{total:,} tasks created in {created.seconds:.1f} s, all due at one instant")
    print(
        f"server CPU from the run time to the end (polling and, with executors, running"
        f" the tasks included): {server_s:.2f} s ({server_s / total * 1e6:.1f} µs per task)"
    )
    print(f"longest command meanwhile (wall): {longest_ms} ms")
    setup = f"{schedulers} scheduler(s), {executors} executor(s)"
    print(
        f"with {setup}: GetTask shows the last PENDING {marks.shown * 1000:.0f} ms after its"
        f" run time; every id on its list {marks.on_lists * 1000:.0f} ms; every hash"
        f" promoted {marks.promoted * 1000:.0f} ms"
    )
    moving_s = marks.on_lists_cpu_s - cpu_before
    print(
        f"server CPU until every id was on its list (the last call's catch-up and this"
        f" bench's polling included): {moving_s:.2f} s ({moving_s / total * 1e6:.2f} µs per task)"
    )
    print(f"PENDING history stamps (the due time itself): {quantiles(lags.pending)}")
    if executors:
        print(f"to ACTIVE (claimed) with {setup}: {quantiles(lags.active)}")


async def watch(client: Redis, store: TaskStore, last: str, due: datetime) -> Milestones:
    """Polls from before the run time until every hash is promoted. `last`: the id
    promotion reaches last (ties of one due time go by id)."""
    marks = Milestones()
    part = store.keys.queue_keys("default").scheduled_part(store.keys.primary)
    while marks.promoted < 0:
        seconds, micros = await client.time()
        since = seconds + micros / 1e6 - due.timestamp()
        if since >= 0:
            if marks.shown < 0 and (await store.get(last)).state is not TaskState.SCHEDULED:
                marks.shown = since
            if marks.on_lists < 0 and not await client.zcard(part):
                marks.on_lists = since
                marks.on_lists_cpu_s = await server_cpu_s(client)
            if not await client.zcard(store.keys.scheduled):
                marks.promoted = since
        await asyncio.sleep(0.002)
    return marks


async def longest_command_ms(client: Redis) -> int:
    """The longest a command held the server since LATENCY RESET (0: none reached
    the threshold)."""
    events = await client.latency_latest()
    return max((int(e[3]) for e in events if e[0] in (b"command", "command")), default=0)


def quantiles(lags: list[float]) -> str:
    lags = sorted(lags)
    first, median, p99, last = (
        lags[int((len(lags) - 1) * q)] * 1000 for q in (0.0, 0.5, 0.99, 1.0)
    )
    return f"first {first:.0f} ms, median {median:.0f} ms, p99 {p99:.0f} ms, last {last:.0f} ms"


async def until_moved(client: Redis, store: TaskStore, completed: int) -> None:
    """Until tasks:scheduled is empty and `completed` tasks completed (polled: no
    event says so)."""
    while await client.zcard(store.keys.scheduled):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    while (await store.status()).states[TaskState.COMPLETED] < completed:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def history_lags(client: Redis, store: TaskStore, ids: list[str], due: datetime) -> Lags:
    """Per task: seconds from the run time to its PENDING and its ACTIVE entries."""
    lags = Lags([], [])
    for start in range(0, len(ids), SEED_BATCH):
        async with client.pipeline(transaction=False) as pipe:
            for task_id in ids[start : start + SEED_BATCH]:
                pipe.hmget(store.keys.task(task_id), ["state_history", "state_log", "created_us"])
            histories = await pipe.execute()
        for raw, log, created_us in histories:
            # The JSON list from creation, then the compact log (taskflow/store/history.py).
            history = json.loads(raw) + logged_states(text(log or b""), text(created_us or b""))
            entered = {e["state"]: e["timestamp"] for e in reversed(history)}
            pending = datetime.fromisoformat(entered["PENDING"])
            lags.pending.append((pending - due).total_seconds())
            if "ACTIVE" in entered:
                active = datetime.fromisoformat(entered["ACTIVE"])
                lags.active.append((active - due).total_seconds())
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--schedulers", type=int, default=1)
    parser.add_argument("--executors", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.schedulers, args.executors))


if __name__ == "__main__":
    main()
