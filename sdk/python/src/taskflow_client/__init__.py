"""AsyncTaskFlow from any Python service: a typed async client, and remote workers.

    async with TaskflowClient("scheduler:50051", monitor_address="monitor:50053") as tf:
        created = await tf.create("word_count", "count these words")
        task = await tf.wait(created.task_id)

Without an event loop, `TaskflowSyncClient` makes the same calls, blocking:

    with TaskflowSyncClient("scheduler:50051", monitor_address="monitor:50053") as tf:
        task = tf.run("word_count", "count these words")

The generated gRPC stubs are in `taskflow_client.v1` for anything else.
"""

from taskflow_client.admin import Admin, CorruptTask, CorruptTasks, SyncAdmin
from taskflow_client.client import TaskflowClient
from taskflow_client.context import TaskContext
from taskflow_client.errors import (
    InvalidArgument,
    LeaseLost,
    NotFound,
    PermanentError,
    TaskError,
    TaskflowError,
    Unauthenticated,
    Unavailable,
)
from taskflow_client.models import (
    CancelCount,
    Created,
    LogLine,
    LogPage,
    NewTask,
    TaskInfo,
    TaskPage,
    TaskType,
)
from taskflow_client.schedules import ScheduleInfo, Schedules, ScheduleSpec
from taskflow_client.sync_client import TaskflowSyncClient
from taskflow_client.worker import Worker, WorkerStats

__all__ = [
    "Admin",
    "CancelCount",
    "CorruptTask",
    "CorruptTasks",
    "Created",
    "InvalidArgument",
    "LeaseLost",
    "LogLine",
    "LogPage",
    "NewTask",
    "NotFound",
    "PermanentError",
    "ScheduleInfo",
    "ScheduleSpec",
    "Schedules",
    "SyncAdmin",
    "TaskContext",
    "TaskError",
    "TaskInfo",
    "TaskPage",
    "TaskType",
    "TaskflowClient",
    "TaskflowError",
    "TaskflowSyncClient",
    "Unauthenticated",
    "Unavailable",
    "Worker",
    "WorkerStats",
]
