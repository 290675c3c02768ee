"""Reads by queue under due means PENDING (docs/state-machine.md, "Delayed tasks"):
the queue listing (ListTasks' queue filter, ListQueueTasks) and how long a queue's
head has waited (waiting_since) see a due entry still in `<list>:scheduled`, or
moved onto its list with its hash not caught up, as the PENDING task every other
read shows. No scheduler runs: the store is driven by hand."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from taskflow.store import NewTask, QueueName, TaskQuery, TaskState, TaskStore
from tests.integration.test_due_means_pending import WORKER, delayed, due_at, until_due


async def _listed(store: TaskStore, queue: QueueName, page_size: int = 20) -> tuple[list[str], int]:
    page = await store.list_tasks(TaskQuery(queue=queue, page_size=page_size))
    assert {t.state for t in page.tasks} <= {
        TaskState.SCHEDULED if queue is QueueName.SCHEDULED else TaskState.PENDING
    }
    return [t.task_id for t in page.tasks], page.total_items


async def test_a_queue_listing_holds_its_due_entries_as_pending(store: TaskStore) -> None:
    first, second = [(await store.create(NewTask("echo", n))).task_id for n in ("a", "b")]
    due = due_at(0.5)
    (soon,) = await delayed(store, 1, due)
    (urgent,) = await delayed(store, 1, due, priority=3)
    (later,) = await delayed(store, 1, due_at(3600))
    await until_due(store, due)

    # As a claim takes them: level 3 (its due part), then level 0's list, then its
    # due part (promotion pushes due ids behind what the list holds).
    order = [urgent, first, second, soon]
    assert await _listed(store, QueueName.PRIMARY) == (order, 4)
    assert await store.queue_heads(QueueName.PRIMARY, None) == order
    for page_size in (1, 2, 3):
        pages = [
            await store.list_tasks(TaskQuery(queue=QueueName.PRIMARY, page=p, page_size=page_size))
            for p in range(1, 5)
        ]
        assert [t.task_id for page in pages for t in page.tasks] == order
    # The same tasks as the state listing shows PENDING; SCHEDULED keeps the rest.
    pending = await store.list_tasks(TaskQuery(state=TaskState.PENDING))
    assert {t.task_id for t in pending.tasks} == set(order)
    assert await _listed(store, QueueName.SCHEDULED) == ([later], 1)
    assert await store.queue_heads(QueueName.SCHEDULED) == [later]
    status = await store.status()
    assert (status.queues.primary, status.queues.scheduled) == (4, 1)

    # Once promoted, the listing is the same.
    await store.promote_due()
    assert await _listed(store, QueueName.PRIMARY) == (order, 4)


async def test_a_due_retry_is_in_the_retry_listing_and_its_wait_starts_at_its_due_time(
    store: TaskStore,
) -> None:
    await store.create(NewTask("echo", "x"))
    (claim,) = await store.claim(WORKER, 1)
    assert await store.fail(claim, "boom", "E", permanent=False, retry_delay_s=0.3)
    due = (await store.get(claim.task_id)).retry_after
    assert due is not None
    await until_due(store, due)
    assert await _listed(store, QueueName.RETRY) == ([claim.task_id], 1)
    assert await store.queue_heads(QueueName.RETRY) == [claim.task_id]
    assert (await store.waiting_since())[QueueName.RETRY] == due


async def test_the_wait_of_a_head_promotion_has_not_caught_up_starts_at_its_due_time(
    store: TaskStore, redis_client: Redis
) -> None:
    due = due_at(0.3)
    (task_id,) = await delayed(store, 1, due)
    await until_due(store, due)
    # Nothing promoted: it waits in its list's scheduled part.
    assert (await store.waiting_since())[QueueName.PRIMARY] == due
    # Moved onto its list, its hash not caught up (a catch-up limit of 0).
    await store.promote_due(limit=0)
    assert await redis_client.lrange(store.keys.primary, 0, -1) == [task_id.encode()]
    assert await redis_client.hget(store.keys.task(task_id), "state") == b"SCHEDULED"
    # PENDING since its due time, not since it was scheduled (its hash's updated_at).
    since = (await store.waiting_since())[QueueName.PRIMARY]
    assert since == due
    scheduled_at = await redis_client.hget(store.keys.task(task_id), "updated_at")
    assert isinstance(scheduled_at, bytes)
    assert since != datetime.fromisoformat(scheduled_at.decode())
    await store.promote_due()
    assert (await store.waiting_since())[QueueName.PRIMARY] == due


async def test_the_wait_of_a_queue_is_its_oldest_task_s_whatever_its_priority(
    store: TaskStore,
) -> None:
    due = due_at(0.3)
    (old,) = await delayed(store, 1, due, priority=2)
    await until_due(store, due)
    await store.create(NewTask("echo", "urgent", priority=9))
    await store.create(NewTask("echo", "plain"))
    # The next out is the priority 9 task; the oldest waits in level 2's part.
    assert (await store.queue_heads(QueueName.PRIMARY, 1)) != [old]
    assert (await store.waiting_since())[QueueName.PRIMARY] == due
    assert (await store.waiting_since())[QueueName.RETRY] is None
