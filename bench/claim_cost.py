"""Cost of the claim per task (issue 16): FIFO work against mixed priorities.

    uv run python -m bench.claim_cost [--tasks 20000] [--batch 64] [--rounds 3]

Seeds N PENDING tasks, then one worker claims them all in batches (no handler
runs: only the claim is timed). Reports microseconds per claimed task for tasks
all at priority 0 (the original FIFO lists) and for priorities spread over 0..9,
alternating the two `--rounds` times in one run so both see the same machine:
the CPU time of the server's main thread (INFO cpu), which a loaded machine
hardly moves, and the wall time the worker saw.
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from redis.asyncio import Redis

from bench.common import SEED_BATCH, Timer, bundled_server, host, server_cpu_s
from taskflow.store import NewTask, StoreConfig, TaskStore


async def claim_all(store: TaskStore, total: int, batch: int, mixed: bool) -> tuple[float, float]:
    """(Server µs, wall µs) per task for one worker claiming `total` seeded tasks."""
    await store.client.flushall()
    for start in range(0, total, SEED_BATCH):
        count = min(SEED_BATCH, total - start)
        await store.create_many(
            [NewTask("echo", "x", priority=(start + i) % 10 if mixed else 0) for i in range(count)]
        )
    taken = 0
    cpu_before = await server_cpu_s(store.client)
    with Timer() as timer:
        while taken < total:
            got = await store.claim("bench-worker", batch)
            assert got, "the queue ran dry before every task was claimed"
            taken += len(got)
    cpu = await server_cpu_s(store.client) - cpu_before
    return cpu / total * 1e6, timer.seconds / total * 1e6


async def run(total: int, batch: int, rounds: int) -> None:
    with bundled_server() as redis_server:
        client = Redis.from_url(redis_server.url)
        store = TaskStore(client, StoreConfig())
        fifo: list[tuple[float, float]] = []
        mixed: list[tuple[float, float]] = []
        for _ in range(rounds):
            fifo.append(await claim_all(store, total, batch, mixed=False))
            mixed.append(await claim_all(store, total, batch, mixed=True))
        await client.aclose()
    print(host())
    print(f"{total:,} tasks, batches of {batch}, {rounds} rounds (µs per claimed task)")
    for name, values in (("priority 0 only (FIFO)", fifo), ("priorities 0..9", mixed)):
        server = [v[0] for v in values]
        wall = [v[1] for v in values]
        print(
            f"{name:<24} server CPU median {statistics.median(server):5.1f}"
            f" ({', '.join(f'{v:.1f}' for v in server)});"
            f" wall median {statistics.median(wall):6.1f}"
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
