"""The scheduler's background duties: promote due retries, requeue lost tasks,
expire terminal tasks past their retention, fire recurring schedules
(schedule_duty.py).

Each step is a single Lua script, so any number of scheduler replicas may run
them at once: each id moves exactly once.
"""

from __future__ import annotations

import asyncio
import logging

from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.schedule_duty import fire_schedules
from taskflow.aio import sleep_unless
from taskflow.store import TaskStore
from taskflow.store.schedules import ScheduleStore

log = logging.getLogger(__name__)

# Promotion happens within this long of a task's due time.
PROMOTE_EVERY_S = 0.5
REAP_EVERY_S = 1.0
BATCH = 1000
EXPIRE_EVERY_S = 1.0
EXPIRE_BATCH = 500


async def promote_due_retries(
    store: TaskStore, metrics: SchedulerMetrics, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            moved, next_due_s = await store.promote_due(BATCH)
        except Exception:
            log.exception("event=promote_failed")
            await sleep_unless(stop, 1.0)
            continue
        if moved:
            metrics.promoted.inc(moved)
            log.info("event=retries_promoted count=%d", moved)
        if next_due_s == 0:
            continue  # more are due right now (the call stopped at its limit or budget)
        wait = PROMOTE_EVERY_S if next_due_s is None else min(PROMOTE_EVERY_S, next_due_s)
        await sleep_unless(stop, wait)


async def requeue_expired_leases(
    store: TaskStore, metrics: SchedulerMetrics, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            requeued, dead, cancelled = await store.reap_expired(BATCH)
        except Exception:
            log.exception("event=reap_failed")
            await sleep_unless(stop, 1.0)
            continue
        if requeued or dead or cancelled:
            metrics.recovered.labels(outcome="requeued").inc(requeued)
            metrics.recovered.labels(outcome="dlq").inc(dead)
            metrics.recovered.labels(outcome="cancelled").inc(cancelled)
            log.warning(
                "event=lost_tasks_recovered requeued=%d sent_to_dlq=%d cancelled=%d",
                requeued, dead, cancelled,
            )  # fmt: skip
        if requeued + dead + cancelled < BATCH:
            await sleep_unless(stop, REAP_EVERY_S)


async def expire_terminal_tasks(store: TaskStore, stop: asyncio.Event) -> None:
    """Retention: delete terminal tasks whose retention ran out, a batch per call."""
    while not stop.is_set():
        try:
            expired, looked, next_s = await store.expire_due(EXPIRE_BATCH)
        except Exception:
            log.exception("event=expire_failed")
            await sleep_unless(stop, 1.0)
            continue
        if expired:
            log.info("event=tasks_expired count=%d", expired)
        if looked == EXPIRE_BATCH:
            continue
        await sleep_unless(stop, EXPIRE_EVERY_S if next_s is None else min(EXPIRE_EVERY_S, next_s))


async def run_duties(
    store: TaskStore,
    metrics: SchedulerMetrics,
    schedules: ScheduleStore,
    misfire_grace_s: float,
    stop: asyncio.Event,
) -> None:
    await asyncio.gather(
        promote_due_retries(store, metrics, stop),
        requeue_expired_leases(store, metrics, stop),
        fire_schedules(schedules, misfire_grace_s, stop),
        expire_terminal_tasks(store, stop),
    )
