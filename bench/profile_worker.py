"""Where an executor's time goes: cProfile of one in-process Worker draining no-op tasks.

    uv run python -m bench.profile_worker [--tasks 10000] [--concurrency 32]

Prints the functions with the most time of their own, then the Redis server's
own time per script (INFO commandstats), so client and server cost can be told apart.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats

from redis.asyncio import Redis

from bench.common import Timer, bundled_server, report
from services.executor.worker import Worker, WorkerConfig
from taskflow.store import NewTask, StoreConfig, TaskState, TaskStore
from taskflow.tasks import load_task_modules


async def drain(store: TaskStore, n: int, concurrency: int) -> float:
    for start in range(0, n, 1000):
        await store.create_many([NewTask("noop", "x")] * min(1000, n - start))
    stop = asyncio.Event()
    worker = Worker(store, WorkerConfig(concurrency=concurrency))
    with Timer() as t:
        running = asyncio.create_task(worker.run(stop))
        while True:
            if (await store.status()).states[TaskState.COMPLETED] >= n:
                break
            await asyncio.sleep(0.01)
    stop.set()
    await running
    return t.seconds


async def main(n: int, concurrency: int) -> None:
    load_task_modules([])
    with bundled_server() as server:
        client = Redis.from_url(server.url)
        store = TaskStore(client, StoreConfig())
        await client.config_resetstat()
        profiler = cProfile.Profile()
        profiler.enable()
        seconds = await drain(store, n, concurrency)
        profiler.disable()
        report(f"in-process worker, concurrency {concurrency} (profiled)", n, seconds)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        stats = await client.info("commandstats")
        for name, row in sorted(stats.items(), key=lambda kv: -kv[1]["usec"])[:6]:
            print(f"{name:<28} calls {row['calls']:>8}  usec/call {row['usec_per_call']:>8.1f}")
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()
    asyncio.run(main(options.tasks, options.concurrency))
