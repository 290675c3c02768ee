"""A WatchTask snapshot read, one call against the pipeline it replaced (issue 19).

    uv run --frozen python -m bench.snapshot_read [--calls 3000] [--rounds 3]

On the bundled valkey, one finished task, TaskStore.get_after_latest_event as the
monitor calls it: `one` is lua/watch_snapshot.lua (FCALL_RO), `pipeline` the
XREVRANGE + HGETALL + TIME pipeline (still used on a cluster without a hash-tag
prefix), interleaved per round. Figures per call: this process's CPU
(time.process_time: redis-py's packing and parsing, the store's decoding), valkey's
main-thread CPU (INFO cpu) and the commands valkey counted (INFO commandstats,
commands run inside the function included). Lone HGETALL (`store.get` without the
clock) is shown for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from bench.common import bundled_server, server_cpu_s
from taskflow.store import NewTask, TaskStore


async def _commands(client: Redis) -> int:
    stats: dict[str, Any] = await client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


async def _measure(
    client: Redis, calls: int, read: Callable[[], Awaitable[object]]
) -> tuple[float, float, float]:
    await read()  # loads the library once
    cpu0, server0, commands0 = (
        time.process_time(),
        await server_cpu_s(client),
        await _commands(client),
    )
    for _ in range(calls):
        await read()
    cpu = time.process_time() - cpu0
    server = await server_cpu_s(client) - server0
    commands = await _commands(client) - commands0
    return cpu / calls * 1e6, server / calls * 1e6, commands / calls


async def run(calls: int, rounds: int) -> None:
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client)
        task_id = (await store.create(NewTask("echo", "x"))).task_id
        task_key = store.keys.task(task_id)
        cases: dict[str, Callable[[], Awaitable[object]]] = {
            "one": lambda: store.get_after_latest_event(task_id),
            "pipeline": lambda: store._snapshot_pipelined(task_id, task_key),
            "hgetall": lambda: client.hgetall(task_key),
        }
        print(f"load average {os.getloadavg()[0]:.2f}, {calls} calls per case and round")
        print(f"  {'case':<10} {'client µs':>10} {'valkey µs':>10} {'commands':>9}")
        for round_no in range(rounds):
            for name, read in cases.items():
                client_us, server_us, commands = await _measure(client, calls, read)
                print(f"  {name:<10} {client_us:>10.1f} {server_us:>10.1f} {commands:>9.2f}")
            print(f"  (round {round_no + 1}, load {os.getloadavg()[0]:.2f})")
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds))


if __name__ == "__main__":
    main()
