"""Domain values <-> protobuf messages: the one place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.json_format import MessageToDict

from taskflow.errors import InvalidInput
from taskflow.store.breaker import BreakerState
from taskflow.store.models import (
    QueueDepths,
    QueueName,
    Task,
    TaskState,
)
from taskflow.store.task_logs import LogLine
from taskflow.v1 import enums_pb2, task_pb2

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_PER_DAY = 86400
_STATE_PREFIX = "TASK_STATE_"
_QUEUE_PREFIX = "QUEUE_NAME_"


# Every state's proto value, looked up once: a create answers with one per task.
_STATE_VALUES = {
    state: enums_pb2.TaskState.Value(_STATE_PREFIX + state.value) for state in TaskState
}


def state_to_proto(state: TaskState) -> enums_pb2.TaskState.ValueType:
    return _STATE_VALUES[state]


def state_from_proto(value: enums_pb2.TaskState.ValueType) -> TaskState | None:
    """The domain state of a proto enum value; None for UNSPECIFIED ("any")."""
    if value == enums_pb2.TASK_STATE_UNSPECIFIED:
        return None
    try:
        return TaskState(enums_pb2.TaskState.Name(value).removeprefix(_STATE_PREFIX))
    except ValueError as exc:
        raise InvalidInput(f"unknown task state {value}") from exc


def queue_from_proto(value: enums_pb2.QueueName.ValueType) -> QueueName | None:
    if value == enums_pb2.QUEUE_NAME_UNSPECIFIED:
        return None
    try:
        name = enums_pb2.QueueName.Name(value).removeprefix(_QUEUE_PREFIX).lower()
        return QueueName(name)
    except ValueError as exc:
        raise InvalidInput(f"unknown queue {value}") from exc


def queue_to_proto(queue: QueueName) -> enums_pb2.QueueName.ValueType:
    return enums_pb2.QueueName.Value(_QUEUE_PREFIX + queue.value.upper())


def timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A proto Timestamp, or None so the field stays unset."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive: local time, as astimezone reads it
        moment = moment.astimezone(UTC)
    # Integer arithmetic on the exact difference (FromDatetime's result, a third of its time)
    since = moment - EPOCH
    return timestamp_pb2.Timestamp(
        seconds=since.days * SECONDS_PER_DAY + since.seconds, nanos=since.microseconds * 1000
    )


def iso_timestamp(text: str) -> timestamp_pb2.Timestamp | None:
    return timestamp(datetime.fromisoformat(text)) if text else None


def datetime_of(message: Any, field: str) -> datetime | None:
    """The datetime in `message.field`, or None when the field is unset."""
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(values))
    return message


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON values; InvalidInput for a number JSON cannot hold
    (NaN or an infinity: a Struct's number_value is a double and may carry one)."""
    try:
        return MessageToDict(message)
    except ValueError as exc:
        raise InvalidInput(f"metadata: {exc}") from None


def task_to_proto(task: Task) -> task_pb2.Task:
    return task_pb2.Task(
        task_id=task.task_id,
        task_type=task.task_type,
        state=state_to_proto(task.state),
        content=task.content,
        metadata=struct(task.metadata),
        retry_count=task.retry_count,
        max_retries=task.max_retries,
        last_error=task.last_error,
        error_type=task.error_type,
        retry_after=timestamp(task.retry_after),
        created_at=timestamp(task.created_at),
        updated_at=timestamp(task.updated_at),
        started_at=timestamp(task.started_at),
        completed_at=timestamp(task.completed_at),
        failed_at=timestamp(task.failed_at),
        scheduled_at=timestamp(task.scheduled_at),
        dlq_at=timestamp(task.dlq_at),
        result=task.result,
        error_history=[
            task_pb2.ErrorRecord(
                timestamp=iso_timestamp(record.timestamp),
                error=record.error,
                error_type=record.error_type,
                retry_count=record.retry_count,
                state_transition=record.state_transition,
                exception=record.exception,
                traceback=record.traceback,
            )
            for record in task.error_history
        ],
        state_history=[
            task_pb2.StateRecord(
                state=state_to_proto(TaskState(record.state)),
                timestamp=iso_timestamp(record.timestamp),
                reason=record.reason,
            )
            for record in task.state_history
        ],
        worker_id=task.worker_id,
        run_at=timestamp(task.run_at),
        cancelled_at=timestamp(task.cancelled_at),
        cancel_requested_at=timestamp(task.cancel_requested_at),
        progress=task.progress,
        progress_message=task.progress_message,
        progress_at=timestamp(task.progress_at),
        retention=duration_pb2.Duration(seconds=task.retention_s) if task.retention_s else None,
        priority=task.priority,
        idempotency_key=task.idempotency_key,
        has_payload=task.has_payload,
        payload_size=task.payload_size,
    )


def task_summary_to_proto(task: Task) -> task_pb2.TaskSummary:
    return task_pb2.TaskSummary(
        task_id=task.task_id,
        task_type=task.task_type,
        state=state_to_proto(task.state),
        retry_count=task.retry_count,
        max_retries=task.max_retries,
        last_error=task.last_error,
        error_type=task.error_type,
        created_at=timestamp(task.created_at),
        updated_at=timestamp(task.updated_at),
        completed_at=timestamp(task.completed_at),
        content_length=len(task.content) or task.payload_size,
        has_result=bool(task.result),
    )


def depths_to_proto(depths: QueueDepths) -> task_pb2.QueueDepths:
    return task_pb2.QueueDepths(
        primary=depths.primary, retry=depths.retry, scheduled=depths.scheduled, dlq=depths.dlq
    )


def state_counts_to_proto(counts: Mapping[TaskState, int]) -> task_pb2.StateCounts:
    return task_pb2.StateCounts(**{state.value.lower(): count for state, count in counts.items()})


def timestamp_from_unix(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds), nanos=int((seconds - int(seconds)) * 1e9))


def circuit_state(state: BreakerState) -> enums_pb2.CircuitState.ValueType:
    return enums_pb2.CircuitState.Value(f"CIRCUIT_STATE_{state.value}")


def log_line_to_proto(line: LogLine) -> task_pb2.TaskLogLine:
    return task_pb2.TaskLogLine(
        seq=line.seq,
        time=timestamp(line.time),
        level=line.level,
        logger=line.logger,
        message=line.message,
    )
