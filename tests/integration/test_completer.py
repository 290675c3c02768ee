"""The executor's Completer (services/executor/completer.py) against a real Redis:
an idle completer sends a completion at once, on its own; what gathers while a
round trip is in flight leaves together, with the claim riding along; counted in
script calls (INFO commandstats), never timed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from services.executor.completer import Completer
from taskflow.store import NewTask, TaskState, TaskStore

QUEUES = (("default", 1),)


async def script_calls(client: Redis) -> dict[str, int]:
    stats: dict[str, Any] = await client.info("commandstats")
    return {
        name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
        for name in ("fcall", "fcall_ro", "evalsha")
    }


async def calls_since(client: Redis, before: dict[str, int]) -> int:
    now = await script_calls(client)
    return sum(now[name] - before[name] for name in now)


@pytest.fixture
async def completer(store: TaskStore) -> AsyncIterator[Completer]:
    completer = Completer(store, "w")
    running = asyncio.create_task(completer.run())
    yield completer
    completer.close()
    await asyncio.wait_for(running, 60)


async def test_an_idle_completer_sends_a_completion_at_once_on_its_own(
    completer: Completer, store: TaskStore, redis_client: Redis
) -> None:
    await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim("w", 1)
    before = await script_calls(redis_client)
    await completer.complete(claim, "done")  # returns once Redis has it
    assert await calls_since(redis_client, before) == 1
    task = await store.get(claim.task_id)
    assert (task.state, task.result) == (TaskState.COMPLETED, "done")


async def test_what_gathers_meanwhile_leaves_in_one_call_with_the_claim(
    completer: Completer, store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(15)])
    claims = await store.claim("w", 10)
    before = await script_calls(redis_client)
    saved: list[Exception | None] = []
    for claim in claims:  # all before the sender gets a turn: one batch
        completer.complete_soon(claim, "ok", saved.append)
    claimed = await completer.claim(5, QUEUES, ["echo"])
    assert await calls_since(redis_client, before) == 1  # complete_and_claim, once
    assert saved == [None] * 10
    assert len(claimed) == 5
    states = [(await store.get(c.task_id)).state for c in claims]
    assert states == [TaskState.COMPLETED] * 10


async def test_close_ends_an_idle_sender(store: TaskStore) -> None:
    completer = Completer(store, "w")
    running = asyncio.create_task(completer.run())
    await asyncio.sleep(0)  # let it start waiting
    completer.close()
    await asyncio.wait_for(running, 60)
