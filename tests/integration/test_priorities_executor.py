"""Priorities end to end (issue 16): 10,000 tasks of mixed priority run by one real
executor process with one slot start highest level first, in creation order within
a level, with every level served early (bounded starvation)."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.processes import service_env, start_service
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

TOTAL = 10_000
LEVELS = 10
EVERY = 10  # TASKFLOW_PRIORITY_LOWER_EVERY's default


async def test_one_worker_runs_higher_priorities_first(
    redis_url: str,
    redis_client: Redis,
    store: TaskStore,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    priority: dict[str, int] = {}
    created: dict[str, int] = {}
    for start in range(0, TOTAL, 1000):
        batch = [NewTask("echo", "x", priority=(start + i) % LEVELS) for i in range(1000)]
        for i, c in enumerate(await store.create_many(batch)):
            priority[c.task_id], created[c.task_id] = (start + i) % LEVELS, start + i
    env = service_env(redis_url, WORKER_CONCURRENCY=1)
    processes.append(start_service("executor", env, tmp_path / "executor.log"))

    async def all_done() -> bool:
        return (await store.status()).states[TaskState.COMPLETED] == TOTAL

    await eventually(all_done, within=600, what="every task completed")
    started = []
    ids = list(priority)
    for offset in range(0, TOTAL, 1000):
        chunk = ids[offset : offset + 1000]
        async with redis_client.pipeline(transaction=False) as pipe:
            for task_id in chunk:
                pipe.hget(store.keys.task(task_id), "started_at")
            stamps = await pipe.execute()
        started += [(stamp.decode(), task_id) for stamp, task_id in zip(stamps, chunk, strict=True)]
    order = [task_id for _, task_id in sorted(started)]

    by_level: dict[int, list[int]] = defaultdict(list)
    for task_id in order:
        by_level[priority[task_id]].append(created[task_id])
    assert all(seq == sorted(seq) for seq in by_level.values()), "not FIFO within a level"
    waiting = dict.fromkeys(range(LEVELS), TOTAL // LEVELS)
    passed = 0
    for task_id in order:
        if any(waiting[q] for q in range(priority[task_id] + 1, LEVELS)):
            passed += 1
        waiting[priority[task_id]] -= 1
    assert 0 < passed <= TOTAL // EVERY + 1
    first: dict[int, int] = {}
    for position, task_id in enumerate(order):
        first.setdefault(priority[task_id], position)
    assert max(first.values()) < EVERY * (LEVELS - 1) + 1
    await assert_counters_match_hashes(redis_client, store)
