"""Due means PENDING (issue 15, docs/state-machine.md "Delayed tasks"): once a
SCHEDULED task's due time passes by the Redis clock, every read shows it PENDING,
its history gaining PENDING at the due time, and the depths of the list it is bound
for count it, before any promotion runs; promotion (and a claim) then write exactly
that history, so it never changes once shown. No scheduler runs here: the store is
driven by hand, so "due but not promoted" lasts as long as a test needs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskQuery, TaskState, TaskStore
from taskflow.store.event_stream import latest_id, replay
from taskflow.store.queues import QueueAdmin
from tests.support.truth import assert_counters_match_hashes
from tests.support.waiting import eventually

WORKER = "w-due"


async def redis_now(store: TaskStore) -> datetime:
    seconds, micros = await store.client.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, UTC)


async def until_due(store: TaskStore, due: datetime) -> None:
    async def passed() -> bool:
        return await redis_now(store) > due + timedelta(milliseconds=2)

    await eventually(passed, within=30, what="the due time")


def due_at(seconds: float) -> datetime:
    """A due time `seconds` ahead, in whole ms (as the store keeps it)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def delayed(store: TaskStore, count: int, due: datetime, **fields: Any) -> list[str]:
    batch = [NewTask("echo", f"d{i}", run_at=due, **fields) for i in range(count)]
    return [c.task_id for c in await store.create_many(batch)]


async def test_a_due_task_reads_pending_at_its_due_time_and_promotion_keeps_that(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.5)
    first, urgent = await delayed(store, 1, due) + await delayed(store, 1, due, priority=3)
    (named,) = await delayed(store, 1, due, queue="far")
    assert (await store.get(first)).state is TaskState.SCHEDULED
    assert (await store.status()).queues.primary == 0
    await until_due(store, due)

    # Not promoted: the hash says SCHEDULED, every read says PENDING.
    assert await redis_client.hget(store.keys.task(first), "state") == b"SCHEDULED"
    shown = await store.get(first)
    assert shown.state is TaskState.PENDING
    assert [s.state for s in shown.state_history] == ["SCHEDULED", "PENDING"]
    assert shown.state_history[-1].timestamp == due.isoformat(timespec="microseconds")
    _, watched = await store.get_after_latest_event(first)  # a WatchTask's snapshot
    assert watched == shown
    status = await store.status()
    assert status.states[TaskState.PENDING] == 3
    assert status.states[TaskState.SCHEDULED] == 0
    assert (status.queues.primary, status.queues.scheduled) == (2, 0)
    far = {q.name: q for q in await QueueAdmin(store.client, store.keys).depths()}["far"]
    assert far.primary_by_priority == {0: 1}
    pending = await store.list_tasks(TaskQuery(state=TaskState.PENDING))
    assert {t.task_id for t in pending.tasks} == {first, urgent, named}
    assert pending.total_items == 3
    assert {t.state for t in pending.tasks} == {TaskState.PENDING}
    assert (await store.list_tasks(TaskQuery(state=TaskState.SCHEDULED))).total_items == 0
    await assert_counters_match_hashes(redis_client, store)

    before = await latest_id(redis_client, store.keys)
    assert await store.promote_due() == (3, None)
    assert await redis_client.hget(store.keys.task(first), "state") == b"PENDING"
    for task_id in (first, urgent, named):
        promoted = await store.get(task_id)
        assert promoted.state is TaskState.PENDING
        assert promoted.state_history[-1].timestamp == due.isoformat(timespec="microseconds")
    assert (await store.get(first)).state_history == shown.state_history
    assert await redis_client.lrange(store.keys.primary, 0, -1) == [first.encode()]
    assert await redis_client.lrange(store.keys.primary_level(3), 0, -1) == [urgent.encode()]
    assert await redis_client.lrange(store.keys.queue_keys("far").primary, 0, -1) == [
        named.encode()
    ]
    events = [e async for e in replay(redis_client, store.keys, before)]
    assert sorted(e.task_id for e in events) == sorted((first, urgent, named))
    assert events[-1].state_counts[TaskState.PENDING] == 3
    status = await store.status()
    assert (status.queues.primary, status.states[TaskState.PENDING]) == (2, 3)
    await assert_counters_match_hashes(redis_client, store)


async def test_a_due_retry_counts_in_the_retry_depth_before_promotion(
    store: TaskStore, redis_client: Redis
) -> None:
    await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim(WORKER, 1)
    assert await store.fail(claim, "boom", "E", permanent=False, retry_delay_s=0.3)
    assert (await store.status()).queues.retry == 0
    due = (await store.get(claim.task_id)).retry_after
    assert due is not None
    await until_due(store, due)
    status = await store.status()
    assert (status.queues.retry, status.states[TaskState.PENDING]) == (1, 1)
    task = await store.get(claim.task_id)
    assert [s.state for s in task.state_history][-2:] == ["SCHEDULED", "PENDING"]
    assert task.state_history[-1].timestamp == due.isoformat(timespec="microseconds")
    await store.promote_due()
    assert await redis_client.lrange(store.keys.retry, 0, -1) == [claim.task_id.encode()]
    assert (await store.get(claim.task_id)).state_history == task.state_history
    assert (await store.status()).queues.retry == 1


async def test_a_claim_of_a_moved_task_records_its_due_time_and_takes_each_once(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.5)
    ids = await delayed(store, 5, due)
    await until_due(store, due)
    # One call moves all five onto the list, then catches one hash up (limit 1).
    assert (await store.promote_due(limit=1))[0] == 1
    queued = await redis_client.lrange(store.keys.primary, 0, -1)
    assert sorted(queued) == sorted(i.encode() for i in ids)
    states = Counter([await redis_client.hget(store.keys.task(i), "state") for i in ids])
    assert states == {b"PENDING": 1, b"SCHEDULED": 4}
    await assert_counters_match_hashes(redis_client, store)
    assert (await store.status()).queues.primary == 5

    claims = await store.claim(WORKER, 10)
    assert sorted(c.task_id for c in claims) == sorted(ids)
    for task_id in ids:
        task = await store.get(task_id)
        assert task.state is TaskState.ACTIVE
        assert [s.state for s in task.state_history] == ["SCHEDULED", "PENDING", "ACTIVE"]
        assert task.state_history[1].timestamp == due.isoformat(timespec="microseconds")
    assert await store.claim(WORKER, 10) == []
    assert await redis_client.zcard(store.keys.scheduled) == 0
    await assert_counters_match_hashes(redis_client, store)
    # Catching up later finds nothing left to do.
    assert await store.promote_due() == (0, None)


async def test_cancel_and_delete_of_a_due_unpromoted_task(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.5)
    waiting, moved, deleted = await delayed(store, 3, due)
    await until_due(store, due)
    assert await store.cancel(waiting) is TaskState.CANCELLED
    assert (await store.get(waiting)).state is TaskState.CANCELLED
    status = await store.status()
    assert status.queues.primary == 2
    await assert_counters_match_hashes(redis_client, store)

    # Moved onto its list by promotion, its hash not caught up yet.
    assert (await store.promote_due(limit=0))[0] == 0
    assert len(await redis_client.lrange(store.keys.primary, 0, -1)) == 2
    assert await redis_client.hget(store.keys.task(moved), "state") == b"SCHEDULED"
    assert await store.cancel(moved) is TaskState.CANCELLED
    assert await store.delete(deleted) is TaskState.PENDING
    assert await redis_client.llen(store.keys.primary) == 0
    assert await redis_client.zcard(store.keys.scheduled) == 0
    status = await store.status()
    assert status.queues.primary == 0
    assert status.states[TaskState.CANCELLED] == 2
    await assert_counters_match_hashes(redis_client, store)
    assert await store.claim(WORKER, 10) == []


async def test_bulk_cancel_by_state_follows_the_due_rule(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.5)
    due_ids = await delayed(store, 3, due)
    later = await delayed(store, 2, due_at(3600))
    await until_due(store, due)
    cancelled, _ = await store.cancel_where([TaskState.PENDING], None)
    assert cancelled == 3
    for task_id in due_ids:
        assert (await store.get(task_id)).state is TaskState.CANCELLED
    for task_id in later:
        assert (await store.get(task_id)).state is TaskState.SCHEDULED
    await assert_counters_match_hashes(redis_client, store)


async def test_a_task_written_before_the_split_still_promotes(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.5)
    (old,) = await delayed(store, 1, due)
    # The old layout: the id in tasks:scheduled alone, in no scheduled part.
    part = store.keys.queue_keys("default").scheduled_part(store.keys.primary)
    assert await redis_client.zrem(part, old) == 1
    await until_due(store, due)
    assert (await store.get(old)).state is TaskState.PENDING
    assert await store.promote_due() == (1, None)
    assert await redis_client.lrange(store.keys.primary, 0, -1) == [old.encode()]
    assert await redis_client.hget(store.keys.task(old), "state") == b"PENDING"
    (claim,) = await store.claim(WORKER, 1)
    assert claim.task_id == old
    await assert_counters_match_hashes(redis_client, store)
