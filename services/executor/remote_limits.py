"""Limits a remote worker declares at Register, stored like our executors' own."""

from __future__ import annotations

from taskflow.errors import InvalidInput, quoted
from taskflow.limits import TypeLimits
from taskflow.store import TaskStore
from taskflow.store.limits import LimitStore
from taskflow.v1 import worker_service_pb2 as pb


def remote_limits(registration: pb.WorkerRegistration) -> dict[str, TypeLimits]:
    """The registration's limits by task type; InvalidInput for a malformed one or
    one of a type it does not register."""
    declared: dict[str, TypeLimits] = {}
    for entry in registration.limits:
        if entry.task_type not in registration.task_types:
            raise InvalidInput(f"limits name {quoted(entry.task_type)}, not a registered task type")
        declared[entry.task_type] = TypeLimits(
            entry.rate_limit, entry.concurrency_limit, entry.concurrency_key
        )
    return declared


async def declare_remote_limits(
    store: TaskStore, registration: pb.WorkerRegistration, source: str
) -> None:
    """Store the limits of the types listed; types not listed keep theirs."""
    declared = remote_limits(registration)
    if declared:
        await LimitStore(store.client, store.config.prefix).declare(declared, source)
