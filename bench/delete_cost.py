"""Cost of DeleteTask per task (lua/delete.lua): a healthy PENDING task, and a
malformed one (retry_count spoilt, set aside by a real claim) that delete.lua hands
to remove_malformed (lua/_remove_malformed.lua), which clears every place the id
could be rather than the one its fields name.

    uv run python -m bench.delete_cost [--tasks 2000]

Reports, per deleted task: Redis commands run (INFO commandstats, the FCALL and
the commands inside it: load-independent) and CPU of the server's main thread
(INFO cpu, steadier than wall time on a shared machine). Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio

from redis.asyncio import Redis

from bench.common import bundled_server, server_cpu_s
from taskflow.store import NewTask, StoreConfig, TaskStore


async def _commands(client: Redis) -> int:
    stats = await client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k not in {"cmdstat_info"})


async def _measure(client: Redis, store: TaskStore, ids: list[str]) -> tuple[float, float]:
    await client.config_resetstat()
    cpu = await server_cpu_s(client)
    for task_id in ids:
        await store.delete(task_id)
    spent = await server_cpu_s(client) - cpu
    calls = await _commands(client)
    return calls / len(ids), spent / len(ids) * 1e6


async def main(tasks: int) -> None:
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        healthy = [(await store.create(NewTask("echo", "x"))).task_id for _ in range(tasks)]
        bad = [(await store.create(NewTask("echo", "x"))).task_id for _ in range(tasks)]
        for task_id in bad:
            await client.hset(store.keys.task(task_id), "retry_count", "many")
        # Healthy first in the queue: claim them all aside, then the spoilt ones.
        await client.delete(store.keys.primary)
        for task_id in bad:
            await client.lpush(store.keys.primary, task_id)
        while await store.claim("bench", 100) == [] and await client.llen(store.keys.primary):
            pass
        for name, ids in (("healthy PENDING", healthy), ("malformed, set aside", bad)):
            per_task, cpu_us = await _measure(client, store, ids)
            print(f"{name:<24} {per_task:6.1f} commands/task  {cpu_us:7.1f} µs server CPU/task")
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=2000)
    asyncio.run(main(parser.parse_args().tasks))
