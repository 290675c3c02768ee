"""Cost of the claim per task and drain rate (issue 16): one FIFO queue against
mixed priorities, and against mixed priorities over four named queues.

    uv run python -m bench.claim_cost [--tasks 20000] [--batch 64] [--rounds 3]

Seeds N PENDING tasks, then one worker claims them all in batches (no handler
runs: only the claim is timed). Three layouts, alternated `--rounds` times in one
run so all see the same machine: every task at priority 0 in `default` (the
original FIFO lists; the claimer names no types, as before routing); priorities
spread over 0..9 in `default`; priorities 0..9 spread over four queues the worker
consumes with weights 4:3:2:1, naming the task types it runs (as an executor
does: routing checks each id's type). Reports microseconds per claimed task, as
CPU time of the server's main thread (INFO cpu, which a loaded machine hardly
moves) and as the wall time the worker saw, and the drain rate (tasks/s, wall).
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from redis.asyncio import Redis

from bench.common import SEED_BATCH, Timer, bundled_server, host, server_cpu_s
from taskflow.store import NewTask, StoreConfig, TaskStore

QUEUES = (("default", 4), ("emails", 3), ("reports", 2), ("images", 1))
# The types an executor sends with each claim: the built-ins and a few of a user's.
TYPES = ("echo", "noop", "summarize", "pdfxtract", "resize", "send_mail", "report", "sleepy")
LAYOUTS = ("fifo", "priorities", "four queues")


def new_task(i: int, layout: str) -> NewTask:
    priority = 0 if layout == "fifo" else i % 10
    queue = QUEUES[i % len(QUEUES)][0] if layout == "four queues" else ""
    return NewTask("echo", "x", priority=priority, queue="" if queue == "default" else queue)


async def claim_all(store: TaskStore, total: int, batch: int, layout: str) -> tuple[float, float]:
    """(Server µs, wall µs) per task for one worker claiming `total` seeded tasks."""
    await store.client.flushall()
    for start in range(0, total, SEED_BATCH):
        count = min(SEED_BATCH, total - start)
        await store.create_many([new_task(start + i, layout) for i in range(count)])
    routed = layout == "four queues"
    queues = QUEUES if routed else (("default", 1),)
    taken = 0
    cpu_before = await server_cpu_s(store.client)
    with Timer() as timer:
        while taken < total:
            got = await store.claim(
                "bench-worker", batch, queues=queues, task_types=TYPES if routed else ()
            )
            assert got, "the queue ran dry before every task was claimed"
            taken += len(got)
    cpu = await server_cpu_s(store.client) - cpu_before
    return cpu / total * 1e6, timer.seconds / total * 1e6


async def run(total: int, batch: int, rounds: int) -> None:
    with bundled_server() as redis_server:
        client = Redis.from_url(redis_server.url)
        store = TaskStore(client, StoreConfig())
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in LAYOUTS}
        for _ in range(rounds):
            for layout in LAYOUTS:
                results[layout].append(await claim_all(store, total, batch, layout))
        await client.aclose()
    print(host())
    print(f"{total:,} tasks, batches of {batch}, {rounds} rounds (µs per claimed task)")
    names = {
        "fifo": "priority 0 only (FIFO)",
        "priorities": "priorities 0..9",
        "four queues": "0..9 over 4 queues",
    }
    for layout, values in results.items():
        server = [v[0] for v in values]
        wall = statistics.median(v[1] for v in values)
        print(
            f"{names[layout]:<24} server CPU median {statistics.median(server):5.1f}"
            f" ({', '.join(f'{v:.1f}' for v in server)});"
            f" wall median {wall:6.1f}; drain {1e6 / wall:8,.0f} tasks/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.tasks, args.batch, args.rounds))


if __name__ == "__main__":
    main()
