"""Server cost of the task transitions: Redis CPU per task, from `INFO commandstats`.

    uv run python -m bench.transition_cost [--tasks 20000] [--batch 200] [--rounds 3]

Creates, claims and completes `--tasks` tasks in batches on the bundled server
(one script call per batch and transition), and reports, per transition, the
server's microseconds per script call and per task (EVALSHA `usec`: the script's
run on the server, not the network or the client; on a shared machine it varies
with load, so take the best round) and the Redis commands the scripts ran per task
(exact, whatever the load). Run it on two checkouts to compare them: the figures
in docs/performance.md came from this.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from redis.asyncio import Redis

from bench.common import bundled_server, machine
from taskflow.store import NewTask, TaskStore

OUTSIDE_SCRIPTS = ("cmdstat_evalsha", "cmdstat_info", "cmdstat_script", "cmdstat_time")


async def counters(client: Redis) -> tuple[int, int, int]:
    """EVALSHA calls, their µs, and the commands run inside scripts."""
    stats: dict[str, Any] = await client.info("commandstats")
    entry = stats.get("cmdstat_evalsha", {"calls": 0, "usec": 0})
    inner = sum(int(value["calls"]) for name, value in stats.items() if name not in OUTSIDE_SCRIPTS)
    return int(entry["calls"]), int(entry["usec"]), inner


async def measured(client: Redis, label: str, n: int, work: Any) -> None:
    calls0, usec0, inner0 = await counters(client)
    await work
    calls1, usec1, inner1 = await counters(client)
    calls, usec, inner = calls1 - calls0, usec1 - usec0, inner1 - inner0
    print(
        f"  {label:<10} {calls:>6} calls  {usec / max(calls, 1):8.1f} µs/call"
        f"  {usec / n:6.2f} µs/task  {inner / n:6.2f} commands/task"
    )


async def one_round(store: TaskStore, client: Redis, n: int, batch: int) -> None:
    async def create() -> None:
        for start in range(0, n, batch):
            await store.create_many([NewTask("noop", f"t{i}") for i in range(start, start + batch)])

    claims: list[Any] = []

    async def claim() -> None:
        while len(claims) < n:
            claims.extend(await store.claim("bench-worker", batch))

    async def complete() -> None:
        for start in range(0, n, batch):
            await store.complete_many([(c, "ok") for c in claims[start : start + batch]])

    await measured(client, "create", n, create())
    await measured(client, "claim", n, claim())
    await measured(client, "complete", n, complete())


async def main(n: int, batch: int, rounds: int) -> None:
    with bundled_server() as server:
        print(f"bundled valkey; {machine()}; {n:,} tasks, batches of {batch}")
        client = Redis.from_url(server.url)
        store = TaskStore(client)
        for round_no in range(1, rounds + 1):
            await client.flushall()
            print(f"round {round_no}")
            await one_round(store, client, n, batch)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.batch, args.rounds))
