"""Query parameters shared by the listing routes, and REST names -> proto enums."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from google.protobuf import timestamp_pb2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from taskflow.v1 import enums_pb2


class StateName(enum.StrEnum):
    """Task states as the REST API spells them."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SCHEDULED = "SCHEDULED"
    DLQ = "DLQ"
    CANCELLED = "CANCELLED"


class QueueName(enum.StrEnum):
    primary = "primary"
    retry = "retry"
    scheduled = "scheduled"
    dlq = "dlq"


# The REST layer refuses what the gRPC messages cannot carry (their int32 fields), so
# such input is a 422 naming the field; what is allowed is the scheduler's call.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Bodies of our own endpoints refuse unknown fields (422): a misspelt or unsupported
# option ("eta", "countdown") must not be silently dropped while the task runs at
# once. The original's endpoints (contract §4) keep ignoring what they ignored.
OWN_BODY = ConfigDict(extra="forbid")


def state_to_proto(state: StateName) -> enums_pb2.TaskState.ValueType:
    return enums_pb2.TaskState.Value(f"TASK_STATE_{state.value}")


def queue_to_proto(queue: QueueName) -> enums_pb2.QueueName.ValueType:
    return enums_pb2.QueueName.Value(f"QUEUE_NAME_{queue.value.upper()}")


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """A proto Timestamp; a time without a zone is taken as UTC."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp


# The fields the scheduler sorts by (SchedulerService.ListTasks `sort_by`).
SortField = Literal[
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "failed_at",
    "scheduled_at",
    "dlq_at",
]


class TaskListing(BaseModel):
    """Filters, sorting and paging of GET /api/v1/tasks/ and /api/v1/tasks/summaries/."""

    status: StateName | None = Field(default=None, description="Only tasks in this state.")
    task_status: StateName | None = Field(
        default=None, description="The original dashboard's name for `status`."
    )
    task_type: str | None = Field(default=None, description="Only tasks of this type.")
    queue: QueueName | None = Field(default=None, description="Only tasks now in this queue.")
    start_date: datetime | None = Field(default=None, description="Created at or after.")
    end_date: datetime | None = Field(default=None, description="Created at or before.")
    sort_by: SortField = Field(
        default="created_at",
        description="A timestamp field (created_at, updated_at, completed_at...); pages"
        " are ordered by creation time whichever is named.",
    )
    sort_order: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=INT32_MAX)
    page_size: int = Field(default=20, ge=1, le=100)
    task_id: str | None = Field(
        default=None, pattern=r"^[0-9a-fA-F-]*$", description="A task id or a prefix of one."
    )

    @field_validator("start_date", "end_date", mode="before")
    @classmethod
    def _iso_8601(cls, value: Any) -> Any:
        """ISO 8601 text only: pydantic would also read `0.5` as a Unix time."""
        if value is None or isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("not an ISO 8601 date-time") from None

    def fields(self) -> dict[str, Any]:
        """The fields of ListTasksRequest / ListTaskSummariesRequest."""
        fields: dict[str, Any] = {
            "task_type": self.task_type or "",
            "sort_by": self.sort_by,
            "sort_order": (
                enums_pb2.SORT_ORDER_ASC if self.sort_order == "asc" else enums_pb2.SORT_ORDER_DESC
            ),
            "page": self.page,
            "page_size": self.page_size,
            "task_id": self.task_id or "",
        }
        state = self.status or self.task_status
        if state is not None:
            fields["status"] = state_to_proto(state)
        if self.queue is not None:
            fields["queue"] = queue_to_proto(self.queue)
        if self.start_date is not None:
            fields["start_date"] = timestamp(self.start_date)
        if self.end_date is not None:
            fields["end_date"] = timestamp(self.end_date)
        return fields


ListingQuery = Annotated[TaskListing, Query()]
