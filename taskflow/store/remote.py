"""Remote workers (WorkerService): which task types go to which queue, and claiming
from those queues.

A remote worker registers its task types under a queue; from then on the scheduler
creates tasks of those types in that queue. A remote worker is a claimer like our
own workers (TaskStore.claim with its queues and its types), so renewing,
completing, failing, releasing and reaping are TaskStore's own transitions, and a
task of its type that another claimer popped waits for it in its queue's waiting
list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from taskflow.errors import TaskflowError
from taskflow.store.models import ClaimBatch, ClaimedTask
from taskflow.store.replies import text as _text
from taskflow.store.tasks import TaskStore, check_queue_name


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
        """The queue of each of `task_types` that a remote worker registered."""
        if not task_types:
            return {}
        found = await self.store.client.hmget(self.keys.remote_task_types, list(task_types))
        return {t: _text(q) for t, q in zip(task_types, found, strict=True) if q is not None}

    async def claim(
        self, worker_id: str, queues: Sequence[str], task_types: Sequence[str], max_tasks: int
    ) -> ClaimBatch:
        """Take up to `max_tasks` PENDING tasks of `task_types` from `queues` (with
        the claim's word on whether it ran the lists dry: TaskStore.claim's ClaimBatch)."""
        if max_tasks <= 0 or not queues or not task_types:
            return ClaimBatch()
        return await self.store.claim(
            worker_id, max_tasks, queues=[(q, 1) for q in queues], task_types=task_types
        )

    async def complete_and_claim(
        self,
        finished: Sequence[tuple[ClaimedTask, str]],
        worker_id: str,
        queues: Sequence[str],
        task_types: Sequence[str],
        max_tasks: int,
    ) -> tuple[list[TaskflowError | None], ClaimBatch]:
        """Complete `finished` (per task None, or the error it met) and claim up to
        `max_tasks` as claim() does, in one round trip when there is both to do
        (TaskStore.complete_and_claim). A part that failed as a whole raises."""
        if max_tasks <= 0 or not queues or not task_types:
            return await self.store.complete_many(finished), ClaimBatch()
        if not finished:
            return [], await self.claim(worker_id, queues, task_types, max_tasks)
        done, claimed = await self.store.complete_and_claim(
            finished, worker_id, max_tasks, queues=[(q, 1) for q in queues], task_types=task_types
        )
        if isinstance(done, Exception):
            raise done
        if isinstance(claimed, Exception):
            raise claimed
        return done, claimed
