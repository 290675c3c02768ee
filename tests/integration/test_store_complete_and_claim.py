"""Completions and the next claim in one round trip (TaskStore.complete_and_claim):
one script call (complete_and_claim.lua); each part keeps its own answer, as when
the two scripts are sent apart."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from taskflow.errors import CorruptTask, LeaseLost
from taskflow.store import NewTask, TaskState, TaskStore


async def test_completes_one_batch_and_claims_the_next(store: TaskStore) -> None:
    created = await store.create_many([NewTask("echo", str(i)) for i in range(5)])
    first = await store.claim("w", 2)
    stale = first[1]._replace(lease_token="0")  # a lease this worker no longer holds

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
    await redis_client.function_flush()  # as after a restart of the server
    await redis_client.script_flush()

    outcomes, claimed = await store.complete_and_claim([(held, "done")], "w", 1)

    assert outcomes == [None]
    assert isinstance(claimed, list)
    assert len(claimed) == 1
    assert (await store.get(held.task_id)).state is TaskState.COMPLETED
    assert (await store.get(claimed[0].task_id)).state is TaskState.ACTIVE


async def test_one_call_writes_one_stream_entry_for_both_parts(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(4)])
    held = await store.claim("w", 2)
    before = await redis_client.xlen(store.keys.events)
    await redis_client.config_resetstat()

    outcomes, claimed = await store.complete_and_claim([(h, "ok") for h in held], "w", 2)

    assert outcomes == [None, None]
    assert isinstance(claimed, list)
    assert len(claimed) == 2
    assert await redis_client.xlen(store.keys.events) == before + 1
    ((_, entry),) = await redis_client.xrevrange(store.keys.events, count=1) or []
    assert entry is not None
    moves = [(e["old_state"], e["new_state"]) for e in json.loads(entry[b"h"])]
    assert moves == [("ACTIVE", "COMPLETED")] * 2 + [("PENDING", "ACTIVE")] * 2
    stats = await redis_client.info("commandstats")
    assert stats["cmdstat_fcall"]["calls"] == 1


async def test_a_part_that_fails_leaves_the_other_its_answer(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create_many([NewTask("echo", str(i)) for i in range(3)])
    (held,) = await store.claim("w", 1)
    await redis_client.hset(store.keys.task(held.task_id), "retry_count", "many")

    outcomes, claimed = await store.complete_and_claim([(held, "ok")], "w", 2)

    assert isinstance(outcomes, CorruptTask)
    assert isinstance(claimed, list)
    assert len(claimed) == 2
    status = await store.status()
    assert status.states[TaskState.ACTIVE] == 3
    assert status.states[TaskState.PENDING] == 0
