"""`TaskflowClient.admin`: the operator's actions on many tasks at once (SchedulerService):
the dead letter queue, ids set aside as corrupt, cleanup by state and age, orphaned
tasks, and the ids waiting in one of the four original queues."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from taskflow_client.errors import from_rpc_error
from taskflow_client.models import TaskInfo, state_value
from taskflow_client.v1 import scheduler_service_pb2 as spb

if TYPE_CHECKING:
    from taskflow_client.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub

Reply = TypeVar("Reply")


@dataclass(frozen=True)
class CorruptTask:
    """An id a claim set aside because its stored task could not be read."""

    task_id: str
    fields: dict[str, str]  # what is left of its hash


@dataclass(frozen=True)
class CorruptTasks:
    total: int  # ids set aside now (more than listed when over the limit)
    tasks: list[CorruptTask]


class Admin:
    """Bulk and repair actions; each returns how many tasks it touched."""

    def __init__(
        self, stub: SchedulerServiceAsyncStub, metadata: tuple[tuple[str, str], ...], timeout: float
    ) -> None:
        self._stub = stub
        self._metadata = metadata
        self._timeout = timeout

    async def list_dlq(self, limit: int = 0) -> list[TaskInfo]:
        """Tasks in the dead letter queue (`limit` 0: the service's default)."""
        reply = await self._call(self._stub.ListDlqTasks, spb.ListDlqTasksRequest(limit=limit))
        return [TaskInfo.from_proto(t) for t in reply.tasks]

    async def retry_all_dlq(self, *, reset_retry_count: bool = False) -> int:
        """Put every DLQ task back in its queue; how many."""
        request = spb.RetryAllDlqTasksRequest(reset_retry_count=reset_retry_count)
        return (await self._call(self._stub.RetryAllDlqTasks, request)).retried

    async def purge_dlq(self) -> int:
        """Delete every DLQ task; how many."""
        return (await self._call(self._stub.PurgeDlq, spb.PurgeDlqRequest())).purged

    async def list_corrupt(self, limit: int = 0) -> CorruptTasks:
        reply = await self._call(
            self._stub.ListCorruptTasks, spb.ListCorruptTasksRequest(limit=limit)
        )
        entries = [CorruptTask(e.task_id, dict(e.fields)) for e in reply.tasks]
        return CorruptTasks(reply.total, entries)

    async def drop_corrupt(self, task_ids: Iterable[str]) -> int:
        """Drop these ids from the corrupt set (what is left of each hash stays)."""
        request = spb.DropCorruptTasksRequest(task_ids=list(task_ids))
        return (await self._call(self._stub.DropCorruptTasks, request)).dropped

    async def cleanup(
        self, states: Iterable[str] = (), *, created_before: datetime | None = None
    ) -> int:
        """Delete tasks in `states` ("COMPLETED", "DLQ"...) and/or created before a
        time (at least one of the two); how many."""
        request = spb.CleanupTasksRequest(states=[state_value(s) for s in states])
        if created_before is not None:
            request.created_before.FromDatetime(created_before)
        return (await self._call(self._stub.CleanupTasks, request)).deleted

    async def requeue_orphaned(self) -> int:
        """Put PENDING tasks that sit in no queue back in one; how many."""
        reply = await self._call(self._stub.RequeueOrphanedTasks, spb.RequeueOrphanedTasksRequest())
        return reply.requeued

    async def queue_ids(self, queue: str, limit: int = 0) -> list[str]:
        """Ids in "primary", "retry", "scheduled" or "dlq", next to be read first."""
        request = spb.ListQueueTasksRequest(queue_name=queue, limit=limit)
        return list((await self._call(self._stub.ListQueueTasks, request)).task_ids)

    async def _call(self, rpc: Callable[..., Awaitable[Reply]], request: Any) -> Reply:
        try:
            return await rpc(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
