"""`TaskflowClient.admin` (Admin) and `TaskflowSyncClient.admin` (SyncAdmin): the
operator's actions on many tasks at once (SchedulerService): the dead letter queue,
ids set aside as corrupt, cleanup by state and age, orphaned tasks, and the ids
waiting in one of the four original queues. Requests and replies: calls.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from taskflow_client import calls
from taskflow_client.calls import Call, CorruptTask, CorruptTasks
from taskflow_client.models import TaskInfo

__all__ = ["Admin", "CorruptTask", "CorruptTasks", "SyncAdmin"]

Result = TypeVar("Result")
# The client's way of making one call (its stub, token and timeout).
AsyncRunner = Callable[[Call[Any]], Awaitable[Any]]
SyncRunner = Callable[[Call[Any]], Any]


class Admin:
    """Bulk and repair actions; each returns how many tasks it touched."""

    def __init__(self, run: AsyncRunner) -> None:
        self._run = run

    async def _do(self, call: Call[Result]) -> Result:
        result: Result = await self._run(call)
        return result

    async def list_dlq(self, limit: int = 0) -> list[TaskInfo]:
        """Tasks in the dead letter queue (`limit` 0: the service's default)."""
        return await self._do(calls.list_dlq(limit))

    async def retry_all_dlq(self, *, reset_retry_count: bool = False) -> int:
        """Put every DLQ task back in its queue; how many."""
        return await self._do(calls.retry_all_dlq(reset_retry_count))

    async def purge_dlq(self) -> int:
        """Delete every DLQ task; how many."""
        return await self._do(calls.purge_dlq())

    async def list_corrupt(self, limit: int = 0) -> CorruptTasks:
        """Ids set aside as corrupt, newest first, with what is left of each hash."""
        return await self._do(calls.list_corrupt(limit))

    async def drop_corrupt(self, task_ids: Iterable[str]) -> int:
        """Drop these ids from the corrupt set (what is left of each hash stays:
        `delete(task_id)` removes it)."""
        return await self._do(calls.drop_corrupt(task_ids))

    async def cleanup(
        self, states: Iterable[str] = (), *, created_before: datetime | None = None
    ) -> int:
        """Delete tasks in `states` ("COMPLETED", "DLQ"...) and/or created before a
        time (at least one of the two); how many."""
        return await self._do(calls.cleanup(states, created_before))

    async def requeue_orphaned(self) -> int:
        """Put PENDING tasks that sit in no queue back in one; how many."""
        return await self._do(calls.requeue_orphaned())

    async def queue_ids(self, queue: str, limit: int = 0) -> list[str]:
        """Ids in "primary", "retry", "scheduled" or "dlq", next to be read first."""
        return await self._do(calls.queue_ids(queue, limit))


class SyncAdmin:
    """Admin's actions, blocking (TaskflowSyncClient.admin)."""

    def __init__(self, run: SyncRunner) -> None:
        self._run = run

    def _do(self, call: Call[Result]) -> Result:
        result: Result = self._run(call)
        return result

    def list_dlq(self, limit: int = 0) -> list[TaskInfo]:
        """As Admin.list_dlq."""
        return self._do(calls.list_dlq(limit))

    def retry_all_dlq(self, *, reset_retry_count: bool = False) -> int:
        """As Admin.retry_all_dlq."""
        return self._do(calls.retry_all_dlq(reset_retry_count))

    def purge_dlq(self) -> int:
        """As Admin.purge_dlq."""
        return self._do(calls.purge_dlq())

    def list_corrupt(self, limit: int = 0) -> CorruptTasks:
        """As Admin.list_corrupt."""
        return self._do(calls.list_corrupt(limit))

    def drop_corrupt(self, task_ids: Iterable[str]) -> int:
        """As Admin.drop_corrupt."""
        return self._do(calls.drop_corrupt(task_ids))

    def cleanup(self, states: Iterable[str] = (), *, created_before: datetime | None = None) -> int:
        """As Admin.cleanup."""
        return self._do(calls.cleanup(states, created_before))

    def requeue_orphaned(self) -> int:
        """As Admin.requeue_orphaned."""
        return self._do(calls.requeue_orphaned())

    def queue_ids(self, queue: str, limit: int = 0) -> list[str]:
        """As Admin.queue_ids."""
        return self._do(calls.queue_ids(queue, limit))
