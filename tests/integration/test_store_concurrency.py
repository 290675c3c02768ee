"""Several OS processes claiming from the same queues: each task runs exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.processes import ROOT

TASKS = 2000
PROCESSES = 4


def run_workers(redis_url: str, outputs: list[Path]) -> list[int]:
    """One claim loop per output file, all let go at once when every one is ready;
    their exit codes."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.claim_loop", redis_url, f"w{n}", str(out)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n, out in enumerate(outputs)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return [worker.wait(timeout=60) for worker in workers]


async def test_concurrent_workers_complete_each_task_once(
    redis_url: str, redis_client: Redis, store: TaskStore, tmp_path: Path
) -> None:
    for start in range(0, TASKS, 500):
        await store.create_many([NewTask("echo", str(i)) for i in range(start, start + 500)])
    outputs = [tmp_path / f"worker-{n}.txt" for n in range(PROCESSES)]
    assert await asyncio.to_thread(run_workers, redis_url, outputs) == [0] * PROCESSES

    completions = Counter(line for out in outputs for line in out.read_text().split())
    assert len(completions) == TASKS
    assert set(completions.values()) == {1}, "a task was completed twice"
    assert sum(1 for out in outputs if out.read_text()) > 1, "only one process got work"

    status = await store.status()
    assert status.states[TaskState.COMPLETED] == TASKS
    assert sum(status.states.values()) == TASKS
    assert await redis_client.zcard(store.keys.leases) == 0
    for n in range(PROCESSES):
        assert await redis_client.scard(store.keys.worker_active_tasks(f"w{n}")) == 0
    sample = await store.get(next(iter(completions)))
    assert sample.state is TaskState.COMPLETED
    assert sample.result == sample.worker_id
