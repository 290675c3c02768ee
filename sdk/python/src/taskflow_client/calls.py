"""What the async and the blocking client share for each call: the request they send
and what they make of its reply (`Call`), so the two differ only in how they make the
call itself (TaskflowClient and Admin await it, TaskflowSyncClient and SyncAdmin block)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from taskflow_client.models import (
    CancelCount,
    LogLine,
    LogPage,
    TaskInfo,
    TaskPage,
    TaskType,
    state_name,
    state_value,
)
from taskflow_client.v1 import enums_pb2
from taskflow_client.v1 import scheduler_service_pb2 as spb

Result = TypeVar("Result")


@dataclass(frozen=True)
class Call(Generic[Result]):
    """One SchedulerService call: the method's name, its request, its reply's use."""

    method: str
    request: Any
    result: Callable[[Any], Result]


@dataclass(frozen=True)
class CorruptTask:
    """An id a claim set aside because its stored task could not be read."""

    task_id: str
    fields: dict[str, str]  # what is left of its hash


@dataclass(frozen=True)
class CorruptTasks:
    total: int  # ids set aside now (more than listed when over the limit)
    tasks: list[CorruptTask]


def list_tasks(
    state: str | None, task_type: str, page: int, page_size: int, oldest_first: bool
) -> Call[TaskPage]:
    request = spb.ListTasksRequest(
        status=state_value(state) if state else enums_pb2.TASK_STATE_UNSPECIFIED,
        task_type=task_type,
        page=page,
        page_size=page_size,
        sort_order=enums_pb2.SORT_ORDER_ASC if oldest_first else enums_pb2.SORT_ORDER_DESC,
    )
    return Call(
        "ListTasks",
        request,
        lambda r: TaskPage(
            [TaskInfo.from_proto(t) for t in r.tasks], r.page, r.total_pages, r.total_items
        ),
    )


def task_types() -> Call[list[TaskType]]:
    return Call(
        "ListTaskTypes",
        spb.ListTaskTypesRequest(),
        lambda r: [
            TaskType(t.name, t.description, t.queue, t.builtin, t.default_max_retries)
            for t in r.task_types
        ],
    )


def cancel_many(states: Iterable[str], task_type: str, queue: str) -> Call[CancelCount]:
    request = spb.CancelTasksRequest(
        states=[state_value(s) for s in states], task_type=task_type, queue=queue
    )
    return Call("CancelTasks", request, lambda r: CancelCount(r.cancelled, r.cancel_requested))


def retry(task_id: str, reset_retry_count: bool) -> Call[str]:
    request = spb.RetryTaskRequest(task_id=task_id, reset_retry_count=reset_retry_count)
    return Call("RetryTask", request, lambda r: state_name(r.state))


def delete(task_id: str) -> Call[None]:
    return Call("DeleteTask", spb.DeleteTaskRequest(task_id=task_id), lambda r: None)


def logs(task_id: str, after_seq: int, limit: int) -> Call[LogPage]:
    request = spb.GetTaskLogsRequest(task_id=task_id, after_seq=after_seq, limit=limit)
    return Call(
        "GetTaskLogs",
        request,
        lambda r: LogPage(
            [LogLine.from_proto(line) for line in r.lines], r.next_after_seq, r.more, r.truncated
        ),
    )


def list_dlq(limit: int) -> Call[list[TaskInfo]]:
    return Call(
        "ListDlqTasks",
        spb.ListDlqTasksRequest(limit=limit),
        lambda r: [TaskInfo.from_proto(t) for t in r.tasks],
    )


def retry_all_dlq(reset_retry_count: bool) -> Call[int]:
    request = spb.RetryAllDlqTasksRequest(reset_retry_count=reset_retry_count)
    return Call("RetryAllDlqTasks", request, lambda r: int(r.retried))


def purge_dlq() -> Call[int]:
    return Call("PurgeDlq", spb.PurgeDlqRequest(), lambda r: int(r.purged))


def list_corrupt(limit: int) -> Call[CorruptTasks]:
    return Call(
        "ListCorruptTasks",
        spb.ListCorruptTasksRequest(limit=limit),
        lambda r: CorruptTasks(
            int(r.total), [CorruptTask(e.task_id, dict(e.fields)) for e in r.tasks]
        ),
    )


def drop_corrupt(task_ids: Iterable[str]) -> Call[int]:
    request = spb.DropCorruptTasksRequest(task_ids=list(task_ids))
    return Call("DropCorruptTasks", request, lambda r: int(r.dropped))


def cleanup(states: Iterable[str], created_before: datetime | None) -> Call[int]:
    request = spb.CleanupTasksRequest(states=[state_value(s) for s in states])
    if created_before is not None:
        request.created_before.FromDatetime(created_before)
    return Call("CleanupTasks", request, lambda r: int(r.deleted))


def requeue_orphaned() -> Call[int]:
    return Call(
        "RequeueOrphanedTasks", spb.RequeueOrphanedTasksRequest(), lambda r: int(r.requeued)
    )


def queue_ids(queue: str, limit: int) -> Call[list[str]]:
    request = spb.ListQueueTasksRequest(queue_name=queue, limit=limit)
    return Call("ListQueueTasks", request, lambda r: list(r.task_ids))
