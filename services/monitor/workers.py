"""The workers view (contract §4 Workers): who heartbeats, who is stale, what the
breakers say. Plain values; services/monitor/convert.py makes the messages."""

from __future__ import annotations

import time
from dataclasses import dataclass

from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from taskflow.store.workers import WorkerRecord, WorkerRegistry

# The breaker every worker's provider calls go through (taskflow/provider/guarded.py).
PROVIDER_BREAKER = "openrouter"


@dataclass(frozen=True)
class WorkerView:
    record: WorkerRecord
    seconds_since_heartbeat: float
    healthy: bool  # heartbeat key present and younger than the stale threshold


@dataclass(frozen=True)
class WorkersView:
    workers: list[WorkerView]
    breakers: dict[str, BreakerState]  # by service name

    @property
    def healthy_count(self) -> int:
        return sum(1 for w in self.workers if w.healthy)

    @property
    def stale_count(self) -> int:
        return len(self.workers) - self.healthy_count

    @property
    def all_healthy(self) -> bool:
        """At least one worker, and none stale."""
        return bool(self.workers) and self.stale_count == 0

    @property
    def provider_breaker(self) -> BreakerState:
        """What workers see of the provider breaker (one shared by all of them)."""
        return self.breakers.get(PROVIDER_BREAKER, BreakerState.CLOSED)


async def workers_view(
    registry: WorkerRegistry, breakers: CircuitBreakerStore, stale_after_s: float
) -> WorkersView:
    """Every worker seen lately; stale once its heartbeat is older than `stale_after_s`."""
    records = await registry.all()
    states = {name: status.state for name, status in (await breakers.all_states()).items()}
    now = time.time()
    views = []
    for record in records:
        age = max(now - record.last_seen, 0.0)
        views.append(WorkerView(record, age, record.alive and age <= stale_after_s))
    return WorkersView(views, states)
