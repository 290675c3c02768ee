"""Priorities in the claim (issue 16): 10,000 tasks of mixed priority taken by one
worker come out highest level first, first in first out within a level, and every
tenth claim of new work serves a lower level in turn, so none waits forever."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from taskflow.store import NewTask, QueueName, StoreConfig, TaskState, TaskStore
from tests.support.waiting import eventually

TOTAL = 10_000
LEVELS = 10
EVERY = 10  # StoreConfig.lower_priority_every's default


async def seed(store: TaskStore) -> dict[str, tuple[int, int]]:
    """TOTAL tasks, priority i % LEVELS; id -> (priority, creation order)."""
    order: dict[str, tuple[int, int]] = {}
    for start in range(0, TOTAL, 1000):
        created = await store.create_many(
            [NewTask("echo", "x", priority=(start + i) % LEVELS) for i in range(1000)]
        )
        for i, c in enumerate(created):
            order[c.task_id] = ((start + i) % LEVELS, start + i)
    return order


async def claim_all(store: TaskStore, batch: int) -> list[str]:
    taken: list[str] = []
    while got := await store.claim("only-worker", batch):
        taken += [c.task_id for c in got]
    return taken


async def test_one_worker_takes_higher_priorities_first_with_bounded_starvation(
    store: TaskStore,
) -> None:
    order = await seed(store)
    assert (await store.status()).queues.primary == TOTAL
    heads = await store.queue_heads(QueueName.PRIMARY, limit=3)
    assert [order[i][0] for i in heads] == [9, 9, 9]
    taken = await claim_all(store, batch=7)
    assert sorted(taken) == sorted(order)

    by_level: dict[int, list[int]] = defaultdict(list)
    for task_id in taken:
        priority, created = order[task_id]
        by_level[priority].append(created)
    assert all(seq == sorted(seq) for seq in by_level.values()), "not FIFO within a level"

    # Passing a waiting higher level happens only on the lower turns.
    waiting = {level: TOTAL // LEVELS for level in range(LEVELS)}
    passed = 0
    for task_id in taken:
        priority = order[task_id][0]
        if any(waiting[q] for q in range(priority + 1, LEVELS)):
            passed += 1
        waiting[priority] -= 1
    assert 0 < passed <= TOTAL // EVERY + 1

    # Bounded starvation: with 9 levels below the top, each is served within 9 turns.
    first_claim: dict[int, int] = {}
    for position, task_id in enumerate(taken):
        first_claim.setdefault(order[task_id][0], position)
    assert max(first_claim.values()) < EVERY * (LEVELS - 1) + 1


async def test_strict_priority_when_lower_turns_are_off(redis_client: Redis) -> None:
    store = TaskStore(redis_client, StoreConfig(lower_priority_every=0))
    order = await seed(store)
    taken = await claim_all(store, batch=64)
    assert taken == sorted(order, key=lambda i: (-order[i][0], order[i][1]))


async def test_a_delayed_task_keeps_its_priority_when_it_comes_due(store: TaskStore) -> None:
    soon = datetime.now(UTC) + timedelta(milliseconds=200)
    low = await store.create(NewTask("echo", "low"))
    (due,) = await store.create_many([NewTask("echo", "due", priority=7, run_at=soon)])
    assert due.state is TaskState.SCHEDULED

    async def promoted() -> bool:
        moved, _ = await store.promote_due()
        return moved == 1

    await eventually(promoted, within=10, what="the delayed task promoted")
    assert await store.queue_heads(QueueName.PRIMARY) == [due.task_id, low.task_id]
    claimed = await store.claim("w1", 2)
    assert [c.task_id for c in claimed] == [due.task_id, low.task_id]
    assert (await store.get(due.task_id)).retry_count == 0
