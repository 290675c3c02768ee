"""Several schedulers at once: each due retry is promoted exactly once."""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis

from taskflow.store import NewTask, TaskState, TaskStore
from tests.support.stack import scheduler, settings_for
from tests.support.waiting import eventually

TASKS = 300


async def test_two_replicas_promote_each_retry_once(
    redis_url: str, redis_client: Redis, store: TaskStore
) -> None:
    created = await store.create_many([NewTask("echo", str(i)) for i in range(TASKS)])
    claims = await store.claim("worker-under-test", TASKS)
    assert len(claims) == TASKS
    settings = settings_for(redis_url)
    async with contextlib.AsyncExitStack() as replicas:
        await replicas.enter_async_context(scheduler(settings, redis_client))
        await replicas.enter_async_context(scheduler(settings, redis_client))
        for claim in claims:
            await store.fail(
                claim, "try later", "NetworkTimeout", permanent=False, retry_delay_s=0.5
            )

        async def all_promoted() -> bool:
            return (await store.status()).queues.retry == TASKS

        await eventually(all_promoted, within=60, what="every retry promoted")
        status = await store.status()

    retry_queue = await redis_client.lrange(store.keys.retry, 0, -1)
    assert len(set(retry_queue)) == len(retry_queue) == TASKS
    assert status.states[TaskState.PENDING] == TASKS
    assert status.queues.scheduled == 0
    for c in created[:20]:
        history = [record.state for record in (await store.get(c.task_id)).state_history]
        assert history == ["PENDING", "ACTIVE", "SCHEDULED", "PENDING"]
