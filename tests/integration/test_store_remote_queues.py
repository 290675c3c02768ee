"""A remote worker's queue (taskflow/store/remote.py): tasks of its type stay in
their queue through every transition, and only a claimer that runs the type gets
them."""

from __future__ import annotations

from taskflow.store import NewTask, TaskState, TaskStore
from taskflow.store.remote import RemoteQueues


async def test_a_named_queue_task_goes_back_to_its_queue_whatever_requeues_it(
    store: TaskStore,
) -> None:
    remote = RemoteQueues(store)
    await remote.register(["thumbnail"], "images")
    assert await remote.queues_for(["thumbnail", "summarize"]) == {"thumbnail": "images"}
    created = await store.create(NewTask("thumbnail", "x", queue="images"))
    assert await store.claim("executor-worker", 10) == []

    (held,) = await remote.claim("remote-1", ["images"], ["thumbnail"], 10)
    assert await store.release([held]) == 1
    (held,) = await remote.claim("remote-1", ["images"], ["thumbnail"], 10)
    state = await store.fail(held, "busy", "RateLimitError", permanent=False, retry_delay_s=0)
    assert state is TaskState.SCHEDULED
    assert await store.promote_due() == (1, None)
    (held,) = await remote.claim("remote-1", ["images"], ["thumbnail"], 10)

    # Data repaired by hand: an ACTIVE task under no lease, a PENDING one in no list.
    await store.client.zrem(store.keys.leases, held.task_id)
    assert await store.requeue_orphans() == (1, 1)
    await store.client.delete(store.keys.queue_keys("images").primary)
    assert await store.requeue_orphans() == (1, 1)
    assert await store.claim("executor-worker", 10) == []
    (again,) = await remote.claim("remote-2", ["images"], ["thumbnail"], 10)
    assert again.task_id == created.task_id
    assert (await store.get(created.task_id)).retry_count == 1
    assert (await store.get(created.task_id)).queue_name == "images"
