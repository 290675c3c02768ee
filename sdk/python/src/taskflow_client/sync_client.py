"""TaskflowSyncClient: TaskflowClient's calls (create, read, list, wait, cancel,
retry, delete, logs, task types, `.admin`; schedules are the async client's only) for
code without an event loop (a web view, a script, a Celery-style `.delay()`), over grpc's
blocking channels, which cost a caller less CPU per call than grpc.aio's."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

import grpc

from taskflow_client import calls
from taskflow_client.admin import SyncAdmin
from taskflow_client.calls import Call
from taskflow_client.channels import open_sync_channel
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
from taskflow_client.v1 import (
    monitor_service_pb2,
    monitor_service_pb2_grpc,
    scheduler_service_pb2,
    scheduler_service_pb2_grpc,
)

Result = TypeVar("Result")


class TaskflowSyncClient:
    """A blocking client of SchedulerService and MonitorService, safe to share
    between threads. Use it in `with`, or call `close()`. Arguments as for
    TaskflowClient; schedules are TaskflowClient's only. Requests and replies are
    built as the async client's (calls.py)."""

    def __init__(
        self,
        scheduler_address: str = "127.0.0.1:50051",
        *,
        monitor_address: str = "127.0.0.1:50053",
        token: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._scheduler_channel = open_sync_channel(scheduler_address, credentials)
        self._monitor_channel = open_sync_channel(monitor_address, credentials)
        self._scheduler = scheduler_service_pb2_grpc.SchedulerServiceStub(self._scheduler_channel)
        self._monitor = monitor_service_pb2_grpc.MonitorServiceStub(self._monitor_channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self.admin = SyncAdmin(self._do)

    def __enter__(self) -> TaskflowSyncClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._scheduler_channel.close()
        self._monitor_channel.close()

    def create(
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
        """Create one task, as TaskflowClient.create."""
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
            reply = self._scheduler.CreateTask(
                task_request(task), metadata=self._metadata, timeout=self._timeout
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return Created(reply.task_id, reply.created)

    def create_many(self, tasks: Iterable[NewTask]) -> list[Created]:
        """Create tasks in one call, all or none; results in the order given."""
        request = scheduler_service_pb2.BatchCreateTasksRequest(tasks=map(task_request, tasks))
        try:
            reply = self._scheduler.BatchCreateTasks(
                request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return [Created(t.task_id, t.created) for t in reply.tasks]

    def get(self, task_id: str) -> TaskInfo:
        """The task as stored now; NotFound if there is no such task."""
        try:
            reply = self._scheduler.GetTask(
                scheduler_service_pb2.GetTaskRequest(task_id=task_id),
                metadata=self._metadata,
                timeout=self._timeout,
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return TaskInfo.from_proto(reply.task)

    def wait(self, task_id: str, timeout: float | None = None) -> TaskInfo:
        """The task once it is done, followed live over MonitorService.WatchTask;
        NotFound if it does not exist or is deleted meanwhile, a TaskflowError with
        code DEADLINE_EXCEEDED after `timeout` seconds (None: no limit)."""
        call = self._monitor.WatchTask(
            monitor_service_pb2.WatchTaskRequest(task_id=task_id),
            metadata=self._metadata,
            timeout=timeout,
        )
        try:
            for change in call:
                if change.deleted:
                    raise TaskflowError(f"task {task_id} was deleted", grpc.StatusCode.NOT_FOUND)
                task = TaskInfo.from_proto(change.task)
                if task.done:
                    return task
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        finally:
            call.cancel()  # type: ignore[no-untyped-call]
        return self.get(task_id)

    def cancel(self, task_id: str) -> str:
        """Cancel a task, as TaskflowClient.cancel; its state afterwards."""
        try:
            reply = self._scheduler.CancelTask(
                scheduler_service_pb2.CancelTaskRequest(task_id=task_id),
                metadata=self._metadata,
                timeout=self._timeout,
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return state_name(reply.state)

    def list(
        self,
        state: str | None = None,
        *,
        task_type: str = "",
        page: int = 1,
        page_size: int = 20,
        oldest_first: bool = False,
    ) -> TaskPage:
        """As TaskflowClient.list."""
        return self._do(calls.list_tasks(state, task_type, page, page_size, oldest_first))

    def task_types(self) -> builtins.list[TaskType]:
        """As TaskflowClient.task_types."""
        return self._do(calls.task_types())

    def cancel_many(
        self, states: Iterable[str] = (), *, task_type: str = "", queue: str = ""
    ) -> CancelCount:
        """As TaskflowClient.cancel_many."""
        return self._do(calls.cancel_many(states, task_type, queue))

    def retry(self, task_id: str, *, reset_retry_count: bool = False) -> str:
        """As TaskflowClient.retry; the state afterwards."""
        return self._do(calls.retry(task_id, reset_retry_count))

    def delete(self, task_id: str) -> None:
        """As TaskflowClient.delete."""
        self._do(calls.delete(task_id))

    def logs(self, task_id: str, *, after_seq: int = 0, limit: int = 0) -> LogPage:
        """As TaskflowClient.logs."""
        return self._do(calls.logs(task_id, after_seq, limit))

    def _do(self, call: Call[Result]) -> Result:
        """Make one SchedulerService call (calls.py builds it and reads its reply)."""
        try:
            reply = getattr(self._scheduler, call.method)(
                call.request, metadata=self._metadata, timeout=self._timeout
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return call.result(reply)

    def run(self, task_type: str, content: str = "", **fields: Any) -> TaskInfo:
        """Create a task and wait until it is done (fields as for `create`)."""
        return self.wait(self.create(task_type, content, **fields).task_id)
