"""Promotion lag of delayed tasks (issue 15): N tasks due at the same moment.

    uv run python -m bench.promotion [--tasks 100000] [--schedulers 1]

Creates N tasks with one run time (far enough ahead that creating them all ends
first), runs the scheduler's promotion duty (one per --schedulers, as replicas
would), and reports, from the Redis clock stamps in each task, how long after its
run time each became PENDING: median, p99, max, and when the last one moved; and
the CPU time of the server's main thread meanwhile (INFO cpu), which a loaded
machine hardly moves.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bench.common import SEED_BATCH, Timer, bundled_server, host, server_cpu_s
from services.scheduler.duties import promote_due_retries
from services.scheduler.metrics import SchedulerMetrics
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore

# Seconds between the planned end of creation and the common run time.
LEAD_S = 5.0
# Creation rate assumed to pick the run time before creating (checked afterwards;
# low, so a loaded machine still finishes creating before the tasks are due).
CREATE_PER_S = 1_000


async def run(total: int, schedulers: int) -> None:
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        due = datetime.now(UTC) + timedelta(seconds=total / CREATE_PER_S + LEAD_S)
        with Timer() as created:
            for start in range(0, total, SEED_BATCH):
                count = min(SEED_BATCH, total - start)
                await store.create_many([NewTask("echo", "x", run_at=due)] * count)
        left = (due - datetime.now(UTC)).total_seconds()
        assert left > 0, "creating took longer than planned: raise LEAD_S"
        cpu_before = await server_cpu_s(client)
        stop = asyncio.Event()
        duties = [
            asyncio.create_task(promote_due_retries(store, SchedulerMetrics(), stop))
            for _ in range(schedulers)
        ]
        await until_promoted(client, store)
        stop.set()
        await asyncio.gather(*duties)
        server_s = await server_cpu_s(client) - cpu_before
        lags = await pending_lags(client, store, due)
        await client.aclose()
    lags.sort()
    print(host())
    print(f"{total:,} tasks created in {created.seconds:.1f} s, all due at one instant")
    print(
        f"server CPU while promoting (polling included): {server_s:.2f} s"
        f" ({server_s / total * 1e6:.1f} µs per task)"
    )
    median, p99, last = (lags[int((len(lags) - 1) * q)] * 1000 for q in (0.5, 0.99, 1.0))
    print(
        f"promotion lag with {schedulers} scheduler(s): median {median:.0f} ms,"
        f" p99 {p99:.0f} ms, last {last:.0f} ms"
    )


async def until_promoted(client: Redis, store: TaskStore) -> None:
    """Until tasks:scheduled is empty (polled: no event says so)."""
    while await client.zcard(store.keys.scheduled):  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def pending_lags(client: Redis, store: TaskStore, due: datetime) -> list[float]:
    """Per task: seconds from the run time to the PENDING entry of its history."""
    raw = await client.zrange(store.keys.index_state(TaskState.PENDING), 0, -1)
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in raw]
    lags: list[float] = []
    for start in range(0, len(ids), SEED_BATCH):
        async with client.pipeline(transaction=False) as pipe:
            for task_id in ids[start : start + SEED_BATCH]:
                pipe.hget(store.keys.task(task_id), "state_history")
            histories = await pipe.execute()
        for raw in histories:
            entered = json.loads(raw)[-1]["timestamp"]
            lags.append((datetime.fromisoformat(entered) - due).total_seconds())
    return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--schedulers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.schedulers))


if __name__ == "__main__":
    main()
