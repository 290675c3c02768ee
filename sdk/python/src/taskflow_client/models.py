"""The values the client returns and accepts, as plain typed dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format

from taskflow_client.v1 import enums_pb2, scheduler_service_pb2, task_pb2

# States after which a task changes no more unless someone acts on it.
TERMINAL_STATES = frozenset({"COMPLETED", "DLQ", "CANCELLED"})


@dataclass(frozen=True)
class NewTask:
    """A task to create (see TaskflowClient.create for the fields)."""

    task_type: str
    content: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    max_retries: int | None = None
    priority: int = 0
    idempotency_key: str = ""
    payload: bytes = b""
    delay: float | None = None  # seconds from now; the task is SCHEDULED until then


@dataclass(frozen=True)
class Created:
    task_id: str
    created: bool  # False: the idempotency key named a task that already existed


@dataclass(frozen=True)
class TaskInfo:
    """A task as stored."""

    task_id: str
    task_type: str
    state: str  # PENDING, ACTIVE, COMPLETED, FAILED, SCHEDULED, DLQ, CANCELLED
    content: str
    metadata: dict[str, Any]
    result: str
    retry_count: int
    max_retries: int
    last_error: str
    error_type: str
    worker_id: str

    @property
    def done(self) -> bool:
        """True once the task will not change unless someone acts on it."""
        return self.state in TERMINAL_STATES

    @classmethod
    def from_proto(cls, task: task_pb2.Task) -> TaskInfo:
        return cls(
            task_id=task.task_id,
            task_type=task.task_type,
            state=state_name(task.state),
            content=task.content,
            metadata=json_format.MessageToDict(task.metadata),
            result=task.result,
            retry_count=task.retry_count,
            max_retries=task.max_retries,
            last_error=task.last_error,
            error_type=task.error_type,
            worker_id=task.worker_id,
        )


def state_name(value: enums_pb2.TaskState.ValueType) -> str:
    return enums_pb2.TaskState.Name(value).removeprefix("TASK_STATE_")


def state_value(name: str) -> enums_pb2.TaskState.ValueType:
    """ "DLQ" (any case) as the enum; ValueError naming the states for anything else."""
    try:
        return enums_pb2.TaskState.Value(f"TASK_STATE_{name.upper()}")
    except ValueError:
        known = ", ".join(n.removeprefix("TASK_STATE_") for n in enums_pb2.TaskState.keys()[1:])
        raise ValueError(f"no task state {name!r}; one of {known}") from None


@dataclass(frozen=True)
class LogLine:
    """One line a task's handler logged."""

    seq: int
    time: datetime | None
    level: str
    logger: str
    message: str

    @classmethod
    def from_proto(cls, line: task_pb2.TaskLogLine) -> LogLine:
        time = line.time.ToDatetime(tzinfo=UTC) if line.HasField("time") else None
        return cls(line.seq, time, line.level, line.logger, line.message)


@dataclass(frozen=True)
class LogPage:
    """A page of a task's log: pass `next_after_seq` as `after_seq` for the next one."""

    lines: list[LogLine]
    next_after_seq: int
    more: bool  # more lines follow this page
    truncated: bool  # older lines were dropped (the newest 1,000 are kept)


@dataclass(frozen=True)
class CancelCount:
    cancelled: int  # PENDING or SCHEDULED ones, cancelled at once
    cancel_requested: int  # ACTIVE ones, CANCELLED once their worker stops them


@dataclass(frozen=True)
class TaskPage:
    """A page of tasks (`TaskflowClient.list`)."""

    tasks: list[TaskInfo]
    page: int
    total_pages: int
    total_items: int


@dataclass(frozen=True)
class TaskType:
    """A registered task type (`TaskflowClient.task_types`)."""

    name: str
    description: str
    queue: str  # the named queue its tasks go to ("" for the default)
    builtin: bool
    default_max_retries: int


def task_request(task: NewTask) -> scheduler_service_pb2.CreateTaskRequest:
    """The CreateTaskRequest for `task` (no metadata field when it has none)."""
    request = scheduler_service_pb2.CreateTaskRequest(
        task_type=task.task_type,
        content=task.content,
        priority=task.priority,
        idempotency_key=task.idempotency_key,
        payload=task.payload,
    )
    if task.metadata:
        request.metadata.update(dict(task.metadata))
    if task.max_retries is not None:
        request.max_retries = task.max_retries
    if task.delay is not None:
        request.delay.FromNanoseconds(round(task.delay * 1e9))
    return request
