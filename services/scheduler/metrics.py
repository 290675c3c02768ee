"""The scheduler's Prometheus metrics: tasks created, retries promoted, lost tasks
recovered."""

from __future__ import annotations

import collections
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter

from taskflow.store import NewTask


class SchedulerMetrics:
    """One registry per scheduler (several can share a test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.created = Counter(
            "taskflow_scheduler_tasks_created",
            "Tasks created, by type (a repeated idempotency key creates none)",
            ["task_type"],
            registry=self.registry,
        )
        self._created_by_type: dict[str, Counter] = {}
        self.promoted = Counter(
            "taskflow_scheduler_retries_promoted",
            "SCHEDULED tasks whose retry time came, moved to the retry queue",
            registry=self.registry,
        )
        self.recovered = Counter(
            "taskflow_scheduler_tasks_recovered",
            "ACTIVE tasks whose worker's lease expired, by outcome (requeued, dlq)",
            ["outcome"],
            registry=self.registry,
        )

    def count_created(self, new: Iterable[tuple[NewTask, bool]]) -> None:
        # Summed per type first: a batch of 500 is one increment, not 500.
        per_type = collections.Counter(task.task_type for task, created in new if created)
        for task_type, count in per_type.items():
            self.count_created_one(task_type, count)

    def count_created_one(self, task_type: str, count: int = 1) -> None:
        """`count` tasks of one type created: a lone create's increment, through
        the type's labelled child kept here (labels() locks and hashes per call)."""
        child = self._created_by_type.get(task_type)
        if child is None:
            child = self._created_by_type[task_type] = self.created.labels(task_type=task_type)
        child.inc(count)
