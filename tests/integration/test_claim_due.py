"""Due first runs claimed straight from tasks:scheduled (issue 15, _claim_due.lua):
a claimer whose lists are empty takes them at their time with no promotion run,
recording SCHEDULED -> PENDING -> ACTIVE with the bookkeeping of both steps; a
due retry and a due task of a named queue are left for promotion and keep their
path. No scheduler runs here, so nothing else could have moved them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskQuery, TaskState, TaskStore
from taskflow.store.models import ClaimedTask
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

WORKER = "w-due"


async def claim_until(store: TaskStore, count: int, *, wanted: int = 10) -> list[ClaimedTask]:
    """Claim until `count` tasks were taken (they become due while this polls)."""
    claims: list[ClaimedTask] = []

    async def enough() -> bool:
        claims.extend(await store.claim(WORKER, wanted))
        return len(claims) >= count

    await eventually(enough, within=30, what=f"{count} due tasks claimed")
    return claims


async def members(client: Redis, key: str) -> set[str]:
    found: list[Any] = list(await client.zrange(key, 0, -1))
    return {m.decode() for m in found}


async def test_due_first_runs_are_claimed_straight_with_history_counters_and_indexes(
    store: TaskStore, redis_client: Redis
) -> None:
    keys = store.keys
    # A retry due first: claimed, failed with a short retry delay (queue 'retry').
    await store.create(NewTask("echo", "retry me"))
    (held,) = await store.claim(WORKER, 1)
    state = await store.fail(held, "boom", "E", permanent=False, retry_delay_s=0.3)
    assert state is TaskState.SCHEDULED
    due = datetime.now(UTC) + timedelta(seconds=1)
    first_runs = [
        c.task_id
        for c in await store.create_many(
            [NewTask("echo", f"d{i}", priority=i % 3, run_at=due) for i in range(5)]
        )
    ]
    (named,) = await store.create_many([NewTask("echo", "remote", queue="far", run_at=due)])
    assert await redis_client.zcard(keys.scheduled) == 7

    claims = await claim_until(store, len(first_runs))
    assert sorted(c.task_id for c in claims) == sorted(first_runs)
    assert len({c.lease_token for c in claims}) == len(claims)
    assert {c.content for c in claims} == {f"d{i}" for i in range(5)}

    for task_id in first_runs:
        task = await store.get(task_id)
        assert task.state is TaskState.ACTIVE
        assert task.worker_id == WORKER
        assert task.retry_count == 0
        assert [s.state for s in task.state_history] == ["SCHEDULED", "PENDING", "ACTIVE"]
        assert task.run_at is not None
        assert task.started_at is not None
        assert task.started_at >= task.run_at
        assert await redis_client.zscore(keys.leases, task_id) is not None
        assert await redis_client.sismember(keys.worker_active_tasks(WORKER), task_id)
    # The retry and the named queue's task wait for promotion, their hashes
    # untouched; being due, every read shows them PENDING (due means PENDING).
    assert await members(redis_client, keys.scheduled) == {held.task_id, named.task_id}
    for task_id in (held.task_id, named.task_id):
        assert (await store.get(task_id)).state is TaskState.PENDING
        assert await redis_client.hget(keys.task(task_id), "state") == b"SCHEDULED"
    # ACTIVE has no index of its own (the leases are it): its listings show them.
    listed = await store.list_tasks(TaskQuery(state=TaskState.ACTIVE, page_size=100))
    active = {t.task_id for t in listed.tasks}
    assert active == set(first_runs)
    echo = await store.list_tasks(TaskQuery(state=TaskState.ACTIVE, task_type="echo"))
    assert {t.task_id for t in echo.tasks} == active
    for state in (TaskState.PENDING, TaskState.SCHEDULED):
        assert not active & await members(redis_client, keys.index_state(state))
        assert not active & await members(redis_client, keys.index_state_type(state, "echo"))
    await assert_counters_match_hashes(redis_client, store)

    # Promotion moves the rest along their own paths: the retry to the retry list
    # (claimed from there, its count kept), the named task to its queue.
    moved, _ = await store.promote_due()
    assert moved == 2
    (retried,) = await store.claim(WORKER, 10)
    assert retried.task_id == held.task_id
    assert retried.retry_count == 1
    task = await store.get(held.task_id)
    assert [s.state for s in task.state_history][-3:] == ["SCHEDULED", "PENDING", "ACTIVE"]
    assert await redis_client.hget(keys.task(held.task_id), "queue") == b"retry"
    assert (await store.get(named.task_id)).state is TaskState.PENDING
    assert await redis_client.lrange(keys.queue_keys("far").primary, 0, -1) == [
        named.task_id.encode()
    ]
    await assert_counters_match_hashes(redis_client, store)


async def test_queued_work_is_claimed_before_due_tasks(store: TaskStore) -> None:
    due = datetime.now(UTC) + timedelta(milliseconds=300)
    (delayed,) = await store.create_many([NewTask("echo", "later", run_at=due)])
    await eventually(lambda: _due(store, due), within=30, what="the delayed task's run time")
    queued = await store.create(NewTask("echo", "now"))
    (first,) = await store.claim(WORKER, 1)
    assert first.task_id == queued.task_id
    assert await store.client.hget(store.keys.task(delayed.task_id), "state") == b"SCHEDULED"
    assert (await store.get(delayed.task_id)).state is TaskState.PENDING  # due
    (second,) = await store.claim(WORKER, 1)
    assert second.task_id == delayed.task_id


async def _due(store: TaskStore, due: datetime) -> bool:
    seconds, micros = await store.client.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, UTC) > due


async def test_a_malformed_due_task_is_left_alone_and_the_rest_are_claimed(
    store: TaskStore, redis_client: Redis
) -> None:
    due = datetime.now(UTC) + timedelta(milliseconds=300)
    broken, good = (
        c.task_id
        for c in await store.create_many(
            [NewTask("echo", "broken", run_at=due), NewTask("echo", "good", run_at=due)]
        )
    )
    # Damaged by hand (an operator, an old bug): no task type, as load_task refuses.
    await redis_client.hdel(store.keys.task(broken), "task_type")

    claims = await claim_until(store, 1)
    assert [c.task_id for c in claims] == [good]
    assert broken in await members(redis_client, store.keys.scheduled)
    assert await redis_client.hget(store.keys.task(broken), "state") == b"SCHEDULED"
