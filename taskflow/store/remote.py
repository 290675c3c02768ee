"""Remote workers (WorkerService): which task types go to which named queue, and
claiming from those queues.

A remote worker registers its task types under a named queue; from then on the
scheduler creates tasks of those types in that queue (tasks:pending:queue:NAME)
instead of the primary queue, so our own executors never take them. Claiming puts
the same hold on a task as TaskStore.claim, so renewing, completing, failing,
releasing and reaping are TaskStore's own transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from taskflow.store.models import ClaimedTask
from taskflow.store.tasks import TaskStore, check_queue_name, claimed_tasks


class RemoteQueues:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.keys = store.keys

    async def register(self, task_types: Iterable[str], queue: str) -> None:
        """Route new tasks of `task_types` to `queue` (the last registration wins)."""
        check_queue_name(queue)
        routes: dict[Any, str] = {task_type: queue for task_type in task_types}
        if routes:
            await self.store.client.hset(self.keys.remote_task_types, mapping=routes)

    async def queues_for(self, task_types: Sequence[str]) -> dict[str, str]:
        """The named queue of each of `task_types` that a remote worker registered."""
        if not task_types:
            return {}
        found = await self.store.client.hmget(self.keys.remote_task_types, list(task_types))
        return {t: _text(q) for t, q in zip(task_types, found, strict=True) if q is not None}

    async def claim(
        self, worker_id: str, queues: Sequence[str], max_tasks: int
    ) -> list[ClaimedTask]:
        """Take up to `max_tasks` PENDING tasks from `queues`, each under a lease."""
        if max_tasks <= 0 or not queues:
            return []
        rows = await self.store.run_script(
            "remote_claim",
            self.keys.named_queue(queues[0]),
            worker_id,
            max_tasks,
            self.store.config.lease_ms,
            *queues,
        )
        return claimed_tasks(rows)

    async def wait_for_work(self, queues: Sequence[str], timeout_s: float) -> bool:
        """Block until a task is enqueued in one of `queues` (or the timeout passes)."""
        wakeups = [self.keys.named_queue_wakeup(q) for q in queues]
        return await self.store.client.blpop(wakeups, timeout=timeout_s) is not None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
