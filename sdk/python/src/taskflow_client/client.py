"""TaskflowClient: create tasks, read them, wait for their results, cancel, retry and
delete them, read their logs, manage schedules (`.schedules`) and act on many tasks at
once (`.admin`: DLQ, corrupt ids, cleanup, orphans), over gRPC."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from taskflow_client import calls
from taskflow_client.admin import Admin
from taskflow_client.calls import Call
from taskflow_client.channels import open_channel
from taskflow_client.errors import TaskflowError, from_rpc_error
from taskflow_client.models import (
    CancelCount,
    Created,
    LogPage,
    NewTask,
    TaskInfo,
    TaskPage,
    TaskType,
    state_name,
    task_request,
)
from taskflow_client.schedules import Schedules
from taskflow_client.v1 import (
    monitor_service_pb2,
    monitor_service_pb2_grpc,
    scheduler_service_pb2,
    scheduler_service_pb2_grpc,
)

Result = TypeVar("Result")

if TYPE_CHECKING:  # the async stub types exist in the .pyi files only
    from taskflow_client.v1.monitor_service_pb2_grpc import MonitorServiceAsyncStub
    from taskflow_client.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub


class TaskflowClient:
    """An async client of SchedulerService (creating, reading) and MonitorService
    (watching). Use it in `async with`, or call `close()`.

    `token`: the services' TASKFLOW_API_TOKEN, if they have one. `credentials`:
    grpc.ssl_channel_credentials(...) for services serving TLS."""

    def __init__(
        self,
        scheduler_address: str = "127.0.0.1:50051",
        *,
        monitor_address: str = "127.0.0.1:50053",
        token: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._scheduler_channel = open_channel(scheduler_address, credentials)
        self._monitor_channel = open_channel(monitor_address, credentials)
        scheduler = scheduler_service_pb2_grpc.SchedulerServiceStub(self._scheduler_channel)
        monitor = monitor_service_pb2_grpc.MonitorServiceStub(self._monitor_channel)
        self._scheduler: SchedulerServiceAsyncStub = scheduler
        self._monitor: MonitorServiceAsyncStub = monitor
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self.schedules = Schedules(scheduler, self._metadata, timeout)
        self.admin = Admin(self._do)

    async def __aenter__(self) -> TaskflowClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._scheduler_channel.close(None)
        await self._monitor_channel.close(None)

    async def create(
        self,
        task_type: str,
        content: str = "",
        *,
        metadata: Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        priority: int = 0,
        idempotency_key: str = "",
        payload: bytes = b"",
        delay: float | None = None,
    ) -> Created:
        """Create one task (PENDING; SCHEDULED for `delay` seconds when given). A
        second create with the same `idempotency_key` returns the first task, with
        `created=False`."""
        task = NewTask(
            task_type,
            content,
            metadata or {},
            max_retries,
            priority,
            idempotency_key,
            payload,
            delay,
        )
        try:
            reply = await self._scheduler.CreateTask(
                task_request(task), metadata=self._metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return Created(reply.task_id, reply.created)

    async def create_many(self, tasks: Iterable[NewTask]) -> list[Created]:
        """Create tasks in one call, all or none; results in the order given."""
        request = scheduler_service_pb2.BatchCreateTasksRequest(tasks=map(task_request, tasks))
        try:
            reply = await self._scheduler.BatchCreateTasks(
                request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return [Created(t.task_id, t.created) for t in reply.tasks]

    async def get(self, task_id: str) -> TaskInfo:
        """The task as stored now; NotFound if there is no such task."""
        try:
            reply = await self._scheduler.GetTask(
                scheduler_service_pb2.GetTaskRequest(task_id=task_id),
                metadata=self._metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return TaskInfo.from_proto(reply.task)

    async def list(
        self,
        state: str | None = None,
        *,
        task_type: str = "",
        page: int = 1,
        page_size: int = 20,
        oldest_first: bool = False,
    ) -> TaskPage:
        """A page of tasks, newest first, filtered by state ("DLQ"...) and type."""
        return await self._do(calls.list_tasks(state, task_type, page, page_size, oldest_first))

    async def task_types(self) -> builtins.list[TaskType]:
        """Every registered task type (built-in, the services' modules, remote workers')."""
        return await self._do(calls.task_types())

    async def wait(self, task_id: str) -> TaskInfo:
        """The task once it is done (COMPLETED or in the DLQ), followed live over
        MonitorService.WatchTask rather than polled; NotFound if it does not exist
        or is deleted meanwhile. Bound the wait with `asyncio.timeout(...)`."""
        call = self._monitor.WatchTask(
            monitor_service_pb2.WatchTaskRequest(task_id=task_id), metadata=self._metadata
        )
        try:
            async for change in call:
                if change.deleted:
                    raise TaskflowError(f"task {task_id} was deleted", grpc.StatusCode.NOT_FOUND)
                task = TaskInfo.from_proto(change.task)
                if task.done:
                    return task
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()
        return await self.get(task_id)

    async def cancel(self, task_id: str) -> str:
        """Cancel a task; its state afterwards: CANCELLED, or ACTIVE while its worker
        stops the handler (it then becomes CANCELLED). A task already done is
        LeaseLost (FAILED_PRECONDITION), an unknown one NotFound."""
        try:
            reply = await self._scheduler.CancelTask(
                scheduler_service_pb2.CancelTaskRequest(task_id=task_id),
                metadata=self._metadata,
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return state_name(reply.state)

    async def cancel_many(
        self, states: Iterable[str] = (), *, task_type: str = "", queue: str = ""
    ) -> CancelCount:
        """Cancel every task matching the filters (at least one): `states` such as
        "PENDING", "SCHEDULED"; `queue` a named queue."""
        return await self._do(calls.cancel_many(states, task_type, queue))

    async def retry(self, task_id: str, *, reset_retry_count: bool = False) -> str:
        """Put a FAILED or DLQ task back in its queue; its state afterwards (PENDING).
        Any other state is LeaseLost (FAILED_PRECONDITION)."""
        return await self._do(calls.retry(task_id, reset_retry_count))

    async def delete(self, task_id: str) -> None:
        """Delete a task, its result and its payload (what is left of a malformed one
        too); NotFound if there is none."""
        await self._do(calls.delete(task_id))

    async def logs(self, task_id: str, *, after_seq: int = 0, limit: int = 0) -> LogPage:
        """A page of the lines the task's handler logged, after line `after_seq`
        (`limit` 0: the service's default page)."""
        return await self._do(calls.logs(task_id, after_seq, limit))

    async def _do(self, call: Call[Result]) -> Result:
        """Make one SchedulerService call (calls.py builds it and reads its reply)."""
        try:
            reply = await getattr(self._scheduler, call.method)(
                call.request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return call.result(reply)

    async def run(self, task_type: str, content: str = "", **fields: Any) -> TaskInfo:
        """Create a task and wait until it is done (fields as for `create`)."""
        created = await self.create(task_type, content, **fields)
        return await self.wait(created.task_id)
