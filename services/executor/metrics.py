"""The executor's Prometheus metrics: tasks run by type and outcome, their run times,
claim batch sizes, and the shared breaker, limiter and pause state (read from the
store every few seconds, since a scrape cannot await Redis)."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from taskflow.metrics_http import refresh_every
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.rate_limit import RateLimiter

BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
RUN_TIME_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ExecutorMetrics:
    """One registry per worker process (several can share a test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self.tasks = Counter(
            "taskflow_executor_tasks",
            "Tasks this process ran, by type and outcome (completed, scheduled: to be "
            "retried, dlq, discarded: its lease was lost)",
            ["task_type", "outcome"],
            registry=self.registry,
        )
        self.run_time = Histogram(
            "taskflow_executor_task_run_seconds",
            "Time a handler ran, by type and outcome",
            ["task_type", "outcome"],
            buckets=RUN_TIME_BUCKETS,
            registry=self.registry,
        )
        self.claim_batch = Histogram(
            "taskflow_executor_claim_batch_size",
            "Tasks taken by one claim that found work",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "taskflow_executor_tasks_in_flight",
            "Tasks running in this process now",
            registry=self.registry,
        )
        self.breaker = Gauge(
            "taskflow_executor_breaker_state",
            "Each circuit breaker: 0 closed, 1 half-open, 2 open",
            ["service"],
            registry=self.registry,
        )
        self.limiter_tokens = Gauge(
            "taskflow_executor_rate_limit_tokens",
            "Provider calls the shared rate limiter would allow now",
            registry=self.registry,
        )
        self.limiter_utilization = Gauge(
            "taskflow_executor_rate_limit_utilization",
            "Share of the rate limit spent in the current interval, 0..1",
            registry=self.registry,
        )
        self.paused = Gauge(
            "taskflow_executor_paused",
            "1 while claiming is paused cluster-wide",
            registry=self.registry,
        )

    def ran(self, task_type: str, outcome: str, seconds: float) -> None:
        # On the hot path (every task): the labelled children are looked up once per
        # (type, outcome), since labels() costs several times inc() and observe().
        key = (task_type, outcome)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.tasks.labels(task_type=task_type, outcome=outcome),
                self.run_time.labels(task_type=task_type, outcome=outcome),
            )
        children[0].inc()
        children[1].observe(seconds)


async def follow_shared_state(
    metrics: ExecutorMetrics,
    breakers: CircuitBreakerStore,
    limiter: RateLimiter,
    control: ExecutorControl,
    every_s: float,
    stop: asyncio.Event,
) -> None:
    """Copy the cluster-wide breaker, limiter and pause state into the gauges."""

    async def refresh() -> None:
        for service, status in (await breakers.all_states()).items():
            metrics.breaker.labels(service=service).set(BREAKER_VALUE[status.state])
        limit = await limiter.status()
        metrics.limiter_tokens.set(limit.tokens)
        metrics.limiter_utilization.set(limit.utilization)
        metrics.paused.set(int(await control.is_paused()))

    await refresh_every(refresh, every_s, stop)
