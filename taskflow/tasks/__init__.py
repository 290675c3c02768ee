"""Task types and the errors their handlers raise."""

from taskflow.tasks.errors import (
    InsufficientCredits,
    NetworkTimeout,
    Parked,
    PermanentError,
    RateLimitError,
    ServiceUnavailable,
    TaskError,
)
from taskflow.tasks.registry import (
    TaskContext,
    TaskType,
    load_task_modules,
    registered,
    task,
    task_type,
)

__all__ = [
    "InsufficientCredits",
    "NetworkTimeout",
    "Parked",
    "PermanentError",
    "RateLimitError",
    "ServiceUnavailable",
    "TaskContext",
    "TaskError",
    "TaskType",
    "load_task_modules",
    "registered",
    "task",
    "task_type",
]
