"""Reads by queue under due means PENDING: Redis commands and server CPU per call,
flat in the number of stored tasks (no scan).

    uv run python -m bench.queue_reads [--sizes 1000,100000] [--due 1000] [--calls 200]

Seeds N PENDING tasks over priorities 0..9 in `default` and `--due` delayed tasks
whose run time then passes with no promotion (they wait in their lists' scheduled
parts), plus as many not yet due. Then each read runs `--calls` times: the queue
listing's first and fortieth page of `primary`, the first page of `scheduled`, the
store's status() and waiting_since() (the monitor's queue age gauge). Reports per
call the Redis commands (INFO commandstats), the server's main-thread CPU (INFO
cpu: steady on a loaded machine) and the wall time p50 seen by the client.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bench.common import SEED_BATCH, bundled_server, host, server_cpu_s
from taskflow.store import NewTask, QueueName, StoreConfig, TaskQuery, TaskStore


async def commands(client: Redis) -> int:
    stats = await client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


async def seed(store: TaskStore, total: int, due: int) -> None:
    await store.client.flushall()
    for start in range(0, total, SEED_BATCH):
        count = min(SEED_BATCH, total - start)
        await store.create_many([NewTask("echo", "x", priority=i % 10) for i in range(count)])
    soon = datetime.now(UTC) + timedelta(seconds=1)
    later = soon + timedelta(hours=1)
    for run_at in (soon, later):
        batch = [NewTask("echo", "d", priority=i % 10, run_at=run_at) for i in range(due)]
        await store.create_many(batch)
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)


async def measure(
    client: Redis, read: Callable[[], Awaitable[Any]], calls: int
) -> tuple[float, float, float]:
    """(commands, server µs, wall ms p50) per call of `read`."""
    walls = []
    before_cmds, before_cpu = await commands(client), await server_cpu_s(client)
    for _ in range(calls):
        start = time.perf_counter()
        await read()
        walls.append(time.perf_counter() - start)
    cpu = await server_cpu_s(client) - before_cpu
    cmds = await commands(client) - before_cmds  # INFO (the measure's own) left out
    return cmds / calls, cpu / calls * 1e6, statistics.median(walls) * 1e3


async def run(sizes: list[int], due: int, calls: int) -> None:
    print(host())
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        reads: dict[str, Callable[[], Awaitable[Any]]] = {
            "queue=primary, page 1 (20)": lambda: store.list_tasks(
                TaskQuery(queue=QueueName.PRIMARY)
            ),
            "queue=primary, page 40 (20)": lambda: store.list_tasks(
                TaskQuery(queue=QueueName.PRIMARY, page=40)
            ),
            "queue=scheduled, page 1 (20)": lambda: store.list_tasks(
                TaskQuery(queue=QueueName.SCHEDULED)
            ),
            "status()": store.status,
            "waiting_since()": store.waiting_since,
        }
        for size in sizes:
            await seed(store, size, due)
            print(f"\n{size:,} PENDING, {due:,} due and {due:,} not yet due")
            for name, read in reads.items():
                cmds, cpu_us, wall_ms = await measure(client, read, calls)
                line = f"{cmds:6.1f} commands {cpu_us:8.0f} µs server {wall_ms:6.2f} ms"
                print(f"  {name:<30} {line}")
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    asyncio.run(run(sizes, args.due, args.calls))


if __name__ == "__main__":
    main()
