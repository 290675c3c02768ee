"""Waiting for state that other processes change: poll with a deadline, fail clearly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from taskflow.store import TaskState, TaskStore


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, what: str = "condition"
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
    store: TaskStore, task_id: str, state: TaskState, *, within: float = 10.0
) -> None:
    async def reached() -> bool:
        return (await store.get(task_id)).state is state

    await eventually(reached, within=within, what=f"task {task_id} in {state}")
