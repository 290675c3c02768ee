"""The executor's Prometheus metrics: tasks run by type and outcome, their run times,
claim batch sizes, and the shared breaker, limiter and pause state (read from the
store every few seconds, since a scrape cannot await Redis)."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from taskflow.metrics_http import refresh_every
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.rate_limit import RateLimiter

BREAKER_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
RUN_TIME_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# The histogram's `le` labels, written as prometheus_client writes them.
BUCKET_BOUNDS = (*(repr(float(bound)) for bound in RUN_TIME_BUCKETS), "+Inf")
LABELS = ["task_type", "outcome"]
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ExecutorMetrics:
    """One registry per worker process (several can share a test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = TaskRuns()
        self.registry.register(self.runs)
        # Every task ends here: `ran(task_type, outcome, seconds)`.
        self.ran = self.runs.ran
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


class _Tally:
    """One (task type, outcome)'s runs: a count per run-time bucket, their sum."""

    __slots__ = ("buckets", "created", "total_s")

    def __init__(self) -> None:
        self.buckets = [0] * (len(RUN_TIME_BUCKETS) + 1)  # the last one: above them all
        self.total_s = 0.0
        self.created = time.time()


class TaskRuns(Collector):
    """`taskflow_executor_tasks_total` and `taskflow_executor_task_run_seconds`, both
    from one tally per (type, outcome), read at each scrape: exact per task like a
    Counter and a Histogram, at a fraction of their cost on the hot path (every task;
    a labelled Counter's inc() and a Histogram's observe() each take a lock per value,
    several of them per task). Tallied on the event loop's thread; a scrape from the
    metrics server's thread reads a copy (the GIL keeps each number whole)."""

    def __init__(self) -> None:
        self._tallies: dict[tuple[str, str], _Tally] = {}

    def ran(self, task_type: str, outcome: str, seconds: float) -> None:
        tally = self._tallies.get((task_type, outcome))
        if tally is None:
            tally = self._tallies[(task_type, outcome)] = _Tally()
        tally.buckets[bisect_left(RUN_TIME_BUCKETS, seconds)] += 1
        tally.total_s += seconds

    def collect(self) -> Iterator[Metric]:
        tasks = CounterMetricFamily(
            "taskflow_executor_tasks",
            "Tasks this process ran, by type and outcome (completed, scheduled: to be "
            "retried, dlq, discarded: its lease was lost)",
            labels=LABELS,
        )
        run_time = HistogramMetricFamily(
            "taskflow_executor_task_run_seconds",
            "Time a handler ran, by type and outcome",
            labels=LABELS,
        )
        for (task_type, outcome), tally in list(self._tallies.items()):
            counts, total_s = list(tally.buckets), tally.total_s
            cumulative, buckets = 0, []
            for bound, count in zip(BUCKET_BOUNDS, counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            tasks.add_metric([task_type, outcome], cumulative, created=tally.created)
            run_time.add_metric([task_type, outcome], buckets, total_s)
            run_time.samples.append(
                Sample(
                    "taskflow_executor_task_run_seconds_created",
                    {"task_type": task_type, "outcome": outcome},
                    tally.created,
                )
            )
        yield tasks
        yield run_time


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
