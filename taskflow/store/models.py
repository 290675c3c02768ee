"""The task model of contract §1 as typed Python values, parsed from Redis hashes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from taskflow.errors import CorruptTask
from taskflow.store.history import logged_states


class TaskState(StrEnum):
    """Lifecycle states (contract §1), stored upper-case in `task:{id}` `state`."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SCHEDULED = "SCHEDULED"
    DLQ = "DLQ"
    CANCELLED = "CANCELLED"


TERMINAL_STATES = frozenset({TaskState.COMPLETED, TaskState.DLQ, TaskState.CANCELLED})
# Priority levels, lowest first; higher is claimed sooner (docs/state-machine.md).
PRIORITIES = range(10)
# The states a cancel acts on (docs/state-machine.md).
CANCELLABLE_STATES = (TaskState.PENDING, TaskState.SCHEDULED, TaskState.ACTIVE)


class QueueName(StrEnum):
    """The four queues of contract §3, by their REST names."""

    PRIMARY = "primary"
    RETRY = "retry"
    SCHEDULED = "scheduled"
    DLQ = "dlq"


@dataclass(frozen=True)
class ErrorRecord:
    timestamp: str
    error: str
    error_type: str
    retry_count: int
    state_transition: str
    # An unexpected exception: its class name and the end of its traceback.
    exception: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class StateRecord:
    state: str
    timestamp: str
    reason: str = ""  # why a task was held back (parked); empty for other moves


@dataclass(frozen=True)
class NewTask:
    """What a caller asks to create; the store adds the id, state and timestamps."""

    task_type: str
    content: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    max_retries: int = 3
    priority: int = 0
    idempotency_key: str = ""
    payload: bytes = b""
    run_at: datetime | None = None  # None: at once; a past time also runs at once
    # Its named queue (docs/state-machine.md, Queues); empty: `default`.
    queue: str = ""
    retention_s: int = 0  # kept this long once terminal; 0 = forever


@dataclass(frozen=True)
class Created:
    task_id: str
    created: bool  # False: the idempotency key named an existing task
    state: TaskState = TaskState.PENDING  # SCHEDULED when it has a future run time


@dataclass(frozen=True)
class Task:
    """A task as stored in `task:{id}`."""

    task_id: str
    task_type: str
    state: TaskState
    content: str
    metadata: dict[str, Any]
    retry_count: int
    max_retries: int
    last_error: str
    error_type: str
    retry_after: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    scheduled_at: datetime | None
    dlq_at: datetime | None
    result: str
    error_history: list[ErrorRecord]
    state_history: list[StateRecord]
    worker_id: str
    priority: int
    idempotency_key: str
    has_payload: bool
    payload_size: int
    run_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    progress: float | None = None  # 0..1 as the handler last reported, None if never
    progress_message: str = ""
    progress_at: datetime | None = None
    retention_s: int = 0
    queue_name: str = "default"  # its named queue (absent from older hashes: default)

    @classmethod
    def from_hash(cls, raw: Mapping[str, str]) -> Task:
        """Parse a `task:{id}` hash; malformed data raises CorruptTask, never KeyError."""
        task_id = raw.get("task_id", "?")
        try:
            created_at = _time(raw["created_at"])
            if created_at is None:
                raise ValueError("created_at is empty")
            return cls(
                task_id=raw["task_id"],
                task_type=raw["task_type"],
                state=TaskState(raw["state"]),
                content=raw.get("content", ""),
                metadata=_json_object(raw.get("metadata", "")),
                retry_count=int(raw.get("retry_count") or 0),
                max_retries=int(raw.get("max_retries") or 0),
                last_error=raw.get("last_error", ""),
                error_type=raw.get("error_type", ""),
                retry_after=_time(raw.get("retry_after", "")),
                created_at=created_at,
                updated_at=_time(raw.get("updated_at", "")) or created_at,
                started_at=_time(raw.get("started_at", "")),
                completed_at=_time(raw.get("completed_at", "")),
                failed_at=_time(raw.get("failed_at", "")),
                scheduled_at=_time(raw.get("scheduled_at", "")),
                dlq_at=_time(raw.get("dlq_at", "")),
                result=raw.get("result", ""),
                error_history=[ErrorRecord(**e) for e in _json_list(raw.get("error_history", ""))],
                state_history=[
                    StateRecord(**s)
                    for s in _json_list(raw.get("state_history", ""))
                    + logged_states(raw.get("state_log", ""), raw.get("created_us", ""))
                ],
                worker_id=raw.get("worker_id", ""),
                priority=int(raw.get("priority") or 0),
                idempotency_key=raw.get("idempotency_key", ""),
                has_payload=raw.get("has_payload", "0") == "1",
                payload_size=int(raw.get("payload_size") or 0),
                run_at=_time(raw.get("run_at", "")),
                cancelled_at=_time(raw.get("cancelled_at", "")),
                cancel_requested_at=_time(raw.get("cancel_requested_at", "")),
                progress=float(raw["progress"]) if raw.get("progress") else None,
                progress_message=raw.get("progress_message", ""),
                progress_at=_time(raw.get("progress_at", "")),
                retention_s=int(raw.get("retention_s") or 0),
                queue_name=raw.get("queue_name") or "default",
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CorruptTask(f"task {task_id} has malformed stored data: {exc}") from exc


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _json_object(value: str) -> dict[str, Any]:
    if not value or value == "{}":  # most tasks' metadata: no parse on the claim path
        return {}
    parsed = json.loads(value)
    if not isinstance(parsed, dict):
        raise ValueError("metadata is not a JSON object")
    return parsed


def _json_list(value: str) -> list[dict[str, Any]]:
    # Lua's cjson encodes an empty list as "{}": read it back as empty.
    if not value or value == "{}":
        return []
    parsed = json.loads(value)
    if not isinstance(parsed, list):
        raise ValueError("history is not a JSON list")
    return parsed


class ClaimedTask(NamedTuple):
    """A task a worker holds: what its handler is given, and the lease token that
    proves the hold (fencing). Only these fields travel with a claim; the rest of
    the task stays in Redis, where `TaskStore.get` reads it. (A tuple, not a frozen
    dataclass: one is made per task claimed, and this builds in half the time.)"""

    task_id: str
    task_type: str
    retry_count: int
    content: str
    metadata_json: str
    lease_token: str

    def metadata(self) -> dict[str, Any]:
        """The task's metadata; CorruptTask if the stored text is not a JSON object
        (parsed here, not at claim time, so one bad task cannot fail a whole batch)."""
        try:
            return _json_object(self.metadata_json)
        except ValueError as exc:
            raise CorruptTask(f"task {self.task_id} has malformed metadata: {exc}") from exc


class ClaimBatch(list[ClaimedTask]):
    """The tasks one claim took, and whether the claimer's lists ran dry doing so:
    then `drained` is set, and `next_due_in_s` is how long until the next scheduled
    task falls due (None: none, or due already), so an idle claimer can wait for
    work without reading that in a round trip of its own."""

    drained = False
    next_due_in_s: float | None = None


@dataclass(frozen=True)
class QueueDepths:
    primary: int
    retry: int
    scheduled: int
    dlq: int


@dataclass(frozen=True)
class QueueStatus:
    """Queue depths, state counts (from the counters) and the current retry ratio."""

    queues: QueueDepths
    states: dict[TaskState, int]
    retry_ratio: float
    corrupt: int = 0  # ids a claim set aside in tasks:corrupt (store/corrupt.py)


@dataclass(frozen=True)
class TaskQuery:
    """Filters, sort and page of a task listing (contract §4)."""

    state: TaskState | None = None
    task_type: str | None = None
    queue: QueueName | None = None
    start: datetime | None = None
    end: datetime | None = None
    descending: bool = True
    page: int = 1
    page_size: int = 20
    task_id_prefix: str | None = None


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    page: int
    page_size: int
    total_items: int

    @property
    def total_pages(self) -> int:
        return (self.total_items + self.page_size - 1) // self.page_size
