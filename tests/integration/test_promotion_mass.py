"""A mass of delayed tasks due at one instant (issue 15, promote.lua's lean bulk
step): two real schedulers racing promote 20,000 of them; a reader sees every one
PENDING through GetTask and the counters, each promoted once (one history entry,
once on its list, in the PENDING indexes, one event in the stream), and the
counters equal a SCAN of the hashes. A promotion call stops at its CPU budget,
whatever its limit; a malformed due task is left alone and spoils nothing."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskflow.store import TaskState, TaskStore
from taskflow.store.event_stream import latest_id, replay
from taskflow.v1 import enums_pb2 as enums
from taskflow.v1 import scheduler_service_pb2 as pb
from tests.support.due import create_due_at, past
from tests.support.stack import scheduler, settings_for
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

TASKS = 20_000
# Creating 20,000 tasks takes a few seconds on a loaded machine; their common run
# time is set this far ahead so that all are stored SCHEDULED first.
LEAD_S = 15.0
SAMPLED = 300


async def create_due_at_once(store: TaskStore, count: int, lead_s: float) -> list[str]:
    ids, _ = await create_due_at(store, count, lead_s)
    return ids


async def test_two_schedulers_promote_20000_due_at_once_and_every_read_agrees(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    ids, due = await create_due_at(store, TASKS, LEAD_S)
    sample = random.Random(15).sample(ids, SAMPLED)
    before_promotion = await latest_id(redis_client, store.keys)
    settings = settings_for(redis_url)
    async with contextlib.AsyncExitStack() as replicas:
        api = await replicas.enter_async_context(scheduler(settings, redis_client))
        await replicas.enter_async_context(scheduler(settings, redis_client))

        await eventually(lambda: past(redis_client, due), within=120, what="the common run time")
        # Due means PENDING: from the run time on, whatever promotion has reached,
        # every read shows all of them PENDING and in the primary depth, and the
        # counters agree with a SCAN of the hashes read by the due rule. The task
        # promoted last (ties of one due time go by id) reads PENDING through
        # GetTask while its hash still says SCHEDULED.
        last, checks, seen_unpromoted = max(ids), 0, False
        while await redis_client.zcard(store.keys.scheduled) or checks < 3:
            status = await store.status()
            assert status.states[TaskState.PENDING] == TASKS
            assert status.states[TaskState.SCHEDULED] == 0
            assert (status.queues.primary, status.queues.scheduled) == (TASKS, 0)
            reply = await api.stub.GetTask(pb.GetTaskRequest(task_id=last))
            raw_state = await redis_client.hget(store.keys.task(last), "state")
            assert reply.task.state == enums.TASK_STATE_PENDING
            stamp = reply.task.state_history[-1].timestamp.ToDatetime(tzinfo=UTC)
            assert stamp == due
            seen_unpromoted |= raw_state == b"SCHEDULED"
            if checks % 10 == 0:
                await assert_counters_match_hashes(redis_client, store)
            checks += 1
        assert seen_unpromoted, "promotion caught every hash up before the first read"
        # A few at a time: the scheduler's Redis connection pool is bounded.
        states = set()
        for start in range(0, SAMPLED, 10):
            replies = await asyncio.gather(
                *(
                    api.stub.GetTask(pb.GetTaskRequest(task_id=i))
                    for i in sample[start : start + 10]
                )
            )
            states |= {r.task.state for r in replies}
        assert states == {enums.TASK_STATE_PENDING}

    status = await store.status()
    assert status.states[TaskState.SCHEDULED] == 0
    assert (status.queues.primary, status.queues.scheduled) == (TASKS, 0)
    queued = await redis_client.lrange(store.keys.primary, 0, -1)
    assert len(queued) == len(set(queued)) == TASKS
    assert await redis_client.zcard(store.keys.index_state(TaskState.PENDING)) == TASKS
    assert await redis_client.zcard(store.keys.index_state(TaskState.SCHEDULED)) == 0
    assert await redis_client.zcard(store.keys.index_state_type(TaskState.PENDING, "echo")) == TASKS
    for task_id in sample[:50]:
        task = await store.get(task_id)
        assert [s.state for s in task.state_history] == ["SCHEDULED", "PENDING"]
        assert task.run_at is not None
        # Stamped at the due time, as every read showed it before promotion.
        assert datetime.fromisoformat(task.state_history[-1].timestamp) == task.run_at
        assert task.retry_count == 0
    await assert_counters_match_hashes(redis_client, store)
    # The event stream agrees: one SCHEDULED -> PENDING event per task, and the
    # counts the last one carries are the final ones.
    promoted = [
        e
        async for e in replay(redis_client, store.keys, before_promotion)
        if (e.old_state, e.new_state) == (TaskState.SCHEDULED, TaskState.PENDING)
    ]
    assert len(promoted) == TASKS
    assert {e.task_id for e in promoted} == set(ids)
    assert promoted[-1].state_counts[TaskState.PENDING] == TASKS
    assert promoted[-1].queue_depths.scheduled == 0


async def test_a_promotion_call_stops_at_its_budget_and_the_next_calls_finish(
    redis_client: Redis, store: TaskStore
) -> None:
    count = 5_000
    await create_due_at_once(store, count, lead_s=6.0)

    await eventually(lambda: _all_due(redis_client, store, count), within=60, what="the run time")
    # A 1 ms budget cannot hold 5,000 promotions (several µs of server CPU each).
    moved, next_due_s = await store.promote_due(limit=count, budget_ms=1)
    assert 0 < moved < count
    assert next_due_s == 0
    total = moved
    while total < count:
        moved, next_due_s = await store.promote_due(limit=count, budget_ms=1)
        assert moved > 0
        total += moved
    assert next_due_s is None
    assert total == count
    assert (await store.status()).states[TaskState.PENDING] == count
    await assert_counters_match_hashes(redis_client, store)


async def _all_due(client: Redis, store: TaskStore, count: int) -> bool:
    seconds, micros = await client.time()
    now_ms = seconds * 1000 + micros // 1000
    return int(await client.zcount(store.keys.scheduled, "-inf", now_ms)) == count


async def test_a_malformed_due_task_is_left_alone_and_spoils_nothing(
    redis_client: Redis, store: TaskStore
) -> None:
    ids = await create_due_at_once(store, 5, lead_s=1.0)
    bad = ids[0]
    await redis_client.hset(store.keys.task(bad), "created_us", "")
    before = await redis_client.hgetall(store.keys.task(bad))
    await eventually(lambda: _all_due(redis_client, store, 5), within=30, what="the run time")
    moved, next_due_s = await store.promote_due()
    assert moved == 4
    # Nothing else is scheduled: the malformed task left behind makes no "due now".
    assert next_due_s is None
    for task_id in ids[1:]:
        assert (await store.get(task_id)).state is TaskState.PENDING
    assert await redis_client.hgetall(store.keys.task(bad)) == before
    assert await redis_client.zrange(store.keys.scheduled, 0, -1) == [bad.encode()]
    assert await store.promote_due() == (0, None)
    # Due, it counts as PENDING like the rest (due means PENDING), its hash untouched.
    status = await store.status()
    assert (status.states[TaskState.PENDING], status.states[TaskState.SCHEDULED]) == (5, 0)
    await assert_counters_match_hashes(redis_client, store)
    # The move put it on the list with the others: a claim sets it aside for an
    # operator and takes the four good ones, instead of failing with them popped.
    claimed = await store.claim("w1", 10)
    assert sorted(c.task_id for c in claimed) == sorted(ids[1:])
    assert await redis_client.lrange(store.keys.corrupt, 0, -1) == [bad.encode()]
    assert await redis_client.hgetall(store.keys.task(bad)) == before
