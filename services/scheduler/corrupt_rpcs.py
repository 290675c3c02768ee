"""The `tasks:corrupt` RPCs of SchedulerService (beside the DLQ's): list the ids a
claim set aside with what is left of their hashes, and drop them."""

from __future__ import annotations

from typing import Any

from grpc import aio

from taskflow.store import TaskStore
from taskflow.store.corrupt import CorruptTasks
from taskflow.v1 import scheduler_service_pb2 as pb

Context = aio.ServicerContext[Any, Any]
DEFAULT_CORRUPT_LIMIT = 100


class CorruptRpcs:
    """Mixed into SchedulerServicer."""

    store: TaskStore

    def _corrupt(self) -> CorruptTasks:
        return CorruptTasks(self.store.client, self.store.keys)

    async def ListCorruptTasks(self, request: pb.ListCorruptTasksRequest, context: Context) -> Any:
        entries, total = await self._corrupt().entries(request.limit or DEFAULT_CORRUPT_LIMIT)
        return pb.ListCorruptTasksResponse(
            tasks=[pb.CorruptTaskEntry(task_id=e.task_id, fields=e.fields) for e in entries],
            total=total,
        )

    async def DropCorruptTasks(self, request: pb.DropCorruptTasksRequest, context: Context) -> Any:
        dropped = await self._corrupt().drop(list(request.task_ids))
        return pb.DropCorruptTasksResponse(dropped=dropped)
