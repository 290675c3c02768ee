"""Task store throughput against the bundled server (one Python process).

    uv run python bench/store.py [--tasks 20000]

Reports create (one task per call, and batches), claim+complete, and the whole
create -> claim -> complete path with batching. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio

from redis.asyncio import Redis

from bench.common import Timer, bundled_server, machine, report
from taskflow.store import NewTask, TaskStore

BATCH = 200


async def create_single(store: TaskStore, n: int) -> None:
    with Timer() as t:
        for i in range(n):
            await store.create(NewTask("noop", f"task {i}"))
    report("create, one task per call (sequential)", n, t.seconds)


async def create_concurrent(store: TaskStore, n: int, concurrency: int = 32) -> None:
    async def client(count: int) -> None:
        for i in range(count):
            await store.create(NewTask("noop", f"task {i}"))

    with Timer() as t:
        await asyncio.gather(*(client(n // concurrency) for _ in range(concurrency)))
    report(f"create, one task per call ({concurrency} concurrent)", n, t.seconds)


async def create_batched(store: TaskStore, n: int) -> None:
    with Timer() as t:
        for start in range(0, n, BATCH):
            await store.create_many(
                [NewTask("noop", f"task {i}") for i in range(start, start + BATCH)]
            )
    report(f"create, batches of {BATCH}", n, t.seconds)


async def drain(store: TaskStore, n: int, label: str = "") -> int:
    """Claim in batches of BATCH; complete each batch in one call."""
    done = 0
    with Timer() as t:
        while done < n:
            claims = await store.claim("bench-worker", BATCH)
            if not claims:
                await asyncio.sleep(0.001)
                continue
            await store.complete_many([(c, "ok") for c in claims])
            done += len(claims)
    if label:
        report(label, done, t.seconds)
    return done


async def end_to_end(store: TaskStore, n: int) -> None:
    """A producer creating in batches while a consumer claims and completes."""
    with Timer() as t:
        await asyncio.gather(create_batched_quiet(store, n), drain(store, n))
    report("create + claim + complete, concurrently (batched)", n, t.seconds)


async def create_batched_quiet(store: TaskStore, n: int) -> None:
    for start in range(0, n, BATCH):
        await store.create_many([NewTask("noop", "x") for _ in range(start, start + BATCH)])


async def main(n: int) -> None:
    with bundled_server() as server:
        print(f"bundled valkey, appendfsync everysec; {machine()}; {n:,} tasks per row")
        client = Redis.from_url(server.url, max_connections=64)
        store = TaskStore(client)
        await create_single(store, n // 4)
        await client.flushall()
        await create_concurrent(store, n)
        await client.flushall()
        await create_batched(store, n)
        await drain(store, n, f"claim + complete, batches of {BATCH}")
        await client.flushall()
        await end_to_end(store, n)
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().tasks))
