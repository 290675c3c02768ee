"""Waiting for state that other processes change: poll with a deadline, fail clearly.

Deadlines are sized for a loaded machine (load average 5-8 on two cores, where a
process start or a gRPC server's first answer can take tens of seconds): a test
that passes never waits for them, and one that fails still fails, only later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from taskflow.store.keys import Keys
from taskflow.store.workers import WorkerRegistry


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 60.0, what: str = "condition"
) -> None:
    """Return once `check()` is true; fail the test if it is not within `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if await check():
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.02)


async def until_answering(http: httpx.AsyncClient, path: str, *, within: float, what: str) -> None:
    """Until GET `path` answers 200; a server not listening yet is not a failure."""

    async def answers() -> bool:
        try:
            return (await http.get(path)).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(answers, within=within, what=what)


async def wait_for_state(
    store: TaskStore, task_id: str, state: TaskState, *, within: float = 60.0
) -> None:
    async def reached() -> bool:
        return (await store.get(task_id)).state is state

    await eventually(reached, within=within, what=f"task {task_id} in {state}")


async def until_every_worker_paused(client: Redis, *, within: float = 60.0) -> None:
    """Until every live worker says in its heartbeat that it follows the pause flag
    (workers poll it twice a second; a loaded machine may take much longer)."""
    registry = WorkerRegistry(client, Keys())

    async def all_paused() -> bool:
        records = await registry.all()
        return bool(records) and all(r.stats.get("paused") == "1" for r in records)

    await eventually(all_paused, within=within, what="every worker paused")
