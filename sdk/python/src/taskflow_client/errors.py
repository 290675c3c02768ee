"""Errors: what a call can meet (TaskflowError and its kinds), and what a handler
raises to choose what happens to its task (TaskError, PermanentError)."""

from __future__ import annotations

import grpc


class TaskflowError(Exception):
    """A call the service refused or could not answer; `code` is the gRPC status."""

    def __init__(self, message: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> None:
        super().__init__(message)
        self.code = code


class InvalidArgument(TaskflowError):
    """The request is wrong (unknown task type, content too large, ...)."""


class NotFound(TaskflowError):
    """No such task."""


class LeaseLost(TaskflowError):
    """An outcome came with a lease that is no longer held (FAILED_PRECONDITION)."""


class Unauthenticated(TaskflowError):
    """The service wants `token=` (TASKFLOW_API_TOKEN)."""


class Unavailable(TaskflowError):
    """The service or its Redis is unreachable; try again."""


_KINDS: dict[grpc.StatusCode, type[TaskflowError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: LeaseLost,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


def from_rpc_error(error: grpc.RpcError) -> TaskflowError:
    """The SDK error for a failed call (grpc.aio's or a blocking channel's: each
    is also a grpc.Call, with its code and details)."""
    code: grpc.StatusCode = error.code()
    details: str | None = error.details()
    return _KINDS.get(code, TaskflowError)(details or code.name, code)


class TaskError(Exception):
    """Raised by a handler: fail the task with this error class.

    `error_type` picks the retry schedule ("RateLimitError", "ServiceUnavailable",
    "NetworkTimeout", "InsufficientCredits"; anything else: the default one);
    `retry_after` asks for at least that many seconds before the next try."""

    def __init__(
        self,
        message: str,
        error_type: str = "Default",
        *,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.permanent = permanent
        self.retry_after = retry_after


class PermanentError(TaskError):
    """Raised by a handler: no retry, the task goes to the dead-letter queue."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "PermanentError", permanent=True)
