"""`queue-updates` events (JSON dicts, contract §5) -> WatchQueuesResponse messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from taskflow.rpc import convert
from taskflow.store import QueueStatus, TaskState
from taskflow.v1 import enums_pb2, task_pb2
from taskflow.v1 import monitor_service_pb2 as pb


def depths(raw: Mapping[str, Any] | None) -> task_pb2.QueueDepths:
    raw = raw or {}
    return task_pb2.QueueDepths(
        **{q: int(raw.get(q, 0)) for q in ("primary", "retry", "scheduled", "dlq")}
    )


def counts(raw: Mapping[str, Any] | None) -> task_pb2.StateCounts:
    raw = raw or {}
    return task_pb2.StateCounts(**{s.value.lower(): int(raw.get(s.value, 0)) for s in TaskState})


def state(name: str | None) -> enums_pb2.TaskState.ValueType:
    try:
        return convert.state_to_proto(TaskState(name or ""))
    except ValueError:
        return enums_pb2.TASK_STATE_UNSPECIFIED


def initial(status: QueueStatus) -> pb.WatchQueuesResponse:
    return pb.WatchQueuesResponse(
        timestamp=convert.timestamp(datetime.now(UTC)),
        initial_status=pb.InitialStatus(
            queue_depths=convert.depths_to_proto(status.queues),
            state_counts=convert.state_counts_to_proto(status.states),
            retry_ratio=status.retry_ratio,
        ),
    )


def heartbeat() -> pb.WatchQueuesResponse:
    return pb.WatchQueuesResponse(
        timestamp=convert.timestamp(datetime.now(UTC)), heartbeat=pb.Heartbeat()
    )


def event(raw: Mapping[str, Any]) -> pb.WatchQueuesResponse | None:
    """The message for one published event; None for a kind this version ignores."""
    stamp = convert.iso_timestamp(str(raw.get("timestamp", "")))
    task_id = str(raw.get("task_id", ""))
    kind = raw.get("type")
    if kind == "task_created":
        return pb.WatchQueuesResponse(
            timestamp=stamp,
            task_created=pb.TaskCreated(
                task_id=task_id,
                task_type=str(raw.get("task_type", "")),
                queue_depths=depths(raw.get("queue_depths")),
                state_counts=counts(raw.get("state_counts")),
            ),
        )
    if kind == "task_state_changed":
        return pb.WatchQueuesResponse(
            timestamp=stamp,
            task_state_changed=pb.TaskStateChanged(
                task_id=task_id,
                old_state=state(raw.get("old_state")),
                new_state=state(raw.get("new_state")),
                queue_depths=depths(raw.get("queue_depths")),
                state_counts=counts(raw.get("state_counts")),
            ),
        )
    if kind == "task_deleted":
        return pb.WatchQueuesResponse(
            timestamp=stamp,
            task_deleted=pb.TaskDeleted(
                task_id=task_id,
                old_state=state(raw.get("old_state")),
                queue_depths=depths(raw.get("queue_depths")),
                state_counts=counts(raw.get("state_counts")),
            ),
        )
    return None
