"""The task store: the only code that knows Redis key names and Lua scripts.

Every task state change is one Lua script (lua/*.lua) that moves the id, updates
the hash, the state counters and the indexes, and publishes the event together.
"""

from taskflow.store.config import RetryRatio, StoreConfig
from taskflow.store.keys import Keys
from taskflow.store.models import (
    CANCELLABLE_STATES,
    TERMINAL_STATES,
    ClaimBatch,
    ClaimedTask,
    Created,
    ErrorRecord,
    NewTask,
    QueueDepths,
    QueueName,
    QueueStatus,
    StateRecord,
    Task,
    TaskPage,
    TaskQuery,
    TaskState,
)
from taskflow.store.tasks import TaskStore

__all__ = [
    "CANCELLABLE_STATES",
    "TERMINAL_STATES",
    "ClaimBatch",
    "ClaimedTask",
    "Created",
    "ErrorRecord",
    "Keys",
    "NewTask",
    "QueueDepths",
    "QueueName",
    "QueueStatus",
    "RetryRatio",
    "StateRecord",
    "StoreConfig",
    "Task",
    "TaskPage",
    "TaskQuery",
    "TaskState",
    "TaskStore",
]
