"""A bare worker for concurrency tests: claim and complete until the queues are empty.

    python -m tests.support.claim_loop REDIS_URL WORKER_ID OUTPUT_FILE

Prints `ready` once imported and connected, starts claiming when a line arrives on
stdin (so the test can start every loop at the same moment: a loop that began
first could otherwise drain the queues alone), and writes the id of every task
whose completion the store acknowledged to OUTPUT_FILE, one a line.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import StoreConfig, TaskStore

BATCH = 16


async def drain(url: str, worker_id: str) -> list[str]:
    client = Redis.from_url(url)
    store = TaskStore(client, StoreConfig())
    done: list[str] = []
    try:
        await client.ping()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        while claims := await store.claim(worker_id, BATCH):
            outcomes = await store.complete_many([(claim, worker_id) for claim in claims])
            done += [c.task_id for c, error in zip(claims, outcomes, strict=True) if not error]
    finally:
        await client.aclose()
    return done


if __name__ == "__main__":
    completed = asyncio.run(drain(sys.argv[1], sys.argv[2]))
    Path(sys.argv[3]).write_text("".join(f"{task_id}\n" for task_id in completed))
