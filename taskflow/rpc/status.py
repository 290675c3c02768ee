"""Domain errors -> gRPC status codes: the one table for every servicer."""

from __future__ import annotations

import grpc

from taskflow.errors import (
    Conflict,
    CorruptTask,
    InvalidInput,
    NotFound,
    TaskflowError,
    Unavailable,
)

# Checked in order: subclasses before their bases (LeaseLost is a Conflict).
STATUS_FOR: tuple[tuple[type[TaskflowError], grpc.StatusCode], ...] = (
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (CorruptTask, grpc.StatusCode.DATA_LOSS),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def status_for(error: TaskflowError) -> grpc.StatusCode:
    for kind, code in STATUS_FOR:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL
