"""Server cost of creating tasks, in figures a loaded machine hardly moves.

    uv run --frozen python -m bench.create_cost [--tasks 20000] [--rounds 2]
        [--batch 1 --batch 500] [--preload 100000]

Creates `--tasks` tasks through the store (no gRPC) on a fresh bundled valkey
(appendonly, everysec) in calls of each `--batch` size, and reports per created
task: the Redis commands the create script ran (exact, and by command), the bytes
the append-only file grew by (exact), valkey's main-thread CPU and the create
script's own time (EVALSHA `usec`). `--preload` tasks are created first so the
indexes have a realistic size. Run it in two checkouts to compare them
(docs/performance.md, issue 19: creating).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

from redis.asyncio import Redis

from bench.common import bundled_server, host, server_cpu_s
from taskflow.store import NewTask, TaskStore

PRELOAD_BATCH = 1000
NOT_SCRIPT: tuple[str, ...] = ("evalsha", "fcall", "function|load", "info", "script", "time")
NOT_SCRIPT += ("flushall", "config", "bgrewriteaof")


async def snapshot(client: Redis) -> tuple[Counter[str], int, float, int]:
    """Commands by name, AOF size, server CPU seconds, EVALSHA µs."""
    stats: dict[str, Any] = await client.info("commandstats")
    calls: Counter[str] = Counter()
    for name, value in stats.items():
        command = name.removeprefix("cmdstat_")
        if command not in NOT_SCRIPT:
            calls[command] = int(value["calls"])
    evalsha = sum(int(stats.get(f"cmdstat_{c}", {"usec": 0})["usec"]) for c in ("evalsha", "fcall"))
    persistence: dict[str, Any] = await client.info("persistence")
    return calls, int(persistence["aof_current_size"]), await server_cpu_s(client), evalsha


async def measure(store: TaskStore, client: Redis, n: int, batch: int) -> str:
    before = await snapshot(client)
    for start in range(0, n, batch):
        tasks = [NewTask("noop", f"t{i}") for i in range(start, min(start + batch, n))]
        await store.create_many(tasks)
    after = await snapshot(client)
    commands = after[0] - before[0]
    by_command = " ".join(f"{name}={count / n:.2f}" for name, count in commands.most_common())
    return (
        f"  batch {batch:>4}: {sum(commands.values()) / n:6.2f} commands/task"
        f"  {(after[1] - before[1]) / n:7.1f} AOF bytes/task"
        f"  valkey CPU {(after[2] - before[2]) * 1e6 / n:6.1f} µs/task"
        f"  script {(after[3] - before[3]) / n:6.1f} µs/task\n    {by_command}"
    )


async def preload(store: TaskStore, n: int) -> None:
    for start in range(0, n, PRELOAD_BATCH):
        count = min(PRELOAD_BATCH, n - start)
        await store.create_many([NewTask("seed", f"s{i}") for i in range(count)])


async def main(options: argparse.Namespace) -> None:
    print(host())
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client)
        for round_no in range(1, options.rounds + 1):
            await client.flushall()
            # No automatic rewrite in the middle of a measurement (the AOF shrinks).
            await client.config_set("auto-aof-rewrite-percentage", 0)
            await preload(store, options.preload)
            print(f"round {round_no} ({options.preload:,} tasks there before)")
            for batch in options.batch or [1, 500]:
                print(await measure(store, client, options.tasks, batch))
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, action="append", help="tasks per call (repeatable)")
    parser.add_argument("--preload", type=int, default=100000)
    asyncio.run(main(parser.parse_args()))
