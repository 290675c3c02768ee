"""Completions and the next claim in one round trip (TaskStore.complete_and_claim):
each part keeps its own answer, as when the two scripts are sent apart."""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio import Redis

from taskflow.errors import LeaseLost
from taskflow.store import NewTask, TaskState, TaskStore


async def test_completes_one_batch_and_claims_the_next(store: TaskStore) -> None:
    created = await store.create_many([NewTask("echo", str(i)) for i in range(5)])
    first = await store.claim("w", 2)
    stale = replace(first[1], lease_token="0")  # a lease this worker no longer holds

    outcomes, claimed = await store.complete_and_claim(
        [(first[0], "done"), (stale, "late")], "w", 2
    )

    assert isinstance(outcomes, list)
    assert outcomes[0] is None
    assert isinstance(outcomes[1], LeaseLost)
    assert isinstance(claimed, list)
    assert [c.task_id for c in claimed] == [c.task_id for c in created[2:4]]
    done = await store.get(first[0].task_id)
    assert (done.state, done.result) == (TaskState.COMPLETED, "done")
    assert (await store.get(first[1].task_id)).state is TaskState.ACTIVE
    assert (await store.status()).states[TaskState.ACTIVE] == 3


async def test_scripts_the_server_lost_are_loaded_again(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(2)])
    (held,) = await store.claim("w", 1)
    await redis_client.script_flush()  # as after a restart of the server

    outcomes, claimed = await store.complete_and_claim([(held, "done")], "w", 1)

    assert outcomes == [None]
    assert isinstance(claimed, list)
    assert len(claimed) == 1
    assert (await store.get(held.task_id)).state is TaskState.COMPLETED
    assert (await store.get(claimed[0].task_id)).state is TaskState.ACTIVE
