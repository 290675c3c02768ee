"""Limits a remote worker declares at Register, stored like our executors' own, and
the handler starts it reports (rate tokens count from them, as from our own)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from taskflow.errors import InvalidInput, quoted
from taskflow.limits import TypeLimits
from taskflow.store import ClaimedTask, TaskStore
from taskflow.store.limits import LimitStore
from taskflow.store.tasks import check_task_id
from taskflow.v1 import worker_service_pb2 as pb

log = logging.getLogger(__name__)


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


class RemoteStarts:
    """A Work stream's `started` messages: each task's rate token counts from the
    message's arrival (a little after its handler started, so the limit holds), as
    our executors' StartGate reports their starts. limits_started.lua skips tasks
    of types without a rate and those whose lease is not the one given."""

    def __init__(self, store: TaskStore) -> None:
        self._limits = LimitStore(store.client, store.config.prefix)

    async def record(self, leases: Iterable[pb.TaskLease]) -> None:
        now = time.monotonic()
        starts = [
            (ClaimedTask(check_task_id(lease.task_id), "", 0, "", "{}", lease.lease_token), now)
            for lease in leases
        ]
        try:
            await self._limits.started(starts)
        except Exception as error:
            # Unreported, each token counts from its start deadline: later than the
            # real start, so the limit still holds (less of it is used).
            log.warning(
                "event=remote_starts_not_reported count=%d error=%r", len(starts), str(error)
            )
