"""Fires due recurring schedules (docs/schedules.md).

Each firing is one store call keyed by (schedule id, fire time): it happens only
if the schedule still has that next fire time, so replicas racing on the same
firing create one task. A fire time later than the misfire grace (every scheduler
was down) follows the schedule's misfire policy: `skip` creates nothing,
`run_once` creates one task; either way the schedule jumps to its first fire time
after now. A fire time within the grace is always fired, one by one, so a
running scheduler skips none.
"""

from __future__ import annotations

import asyncio
import logging

from taskflow.aio import sleep_unless
from taskflow.errors import NotFound
from taskflow.schedule_times import next_fire_ms
from taskflow.store.schedules import ScheduleStore

log = logging.getLogger(__name__)

POLL_S = 0.2
BATCH = 100


async def fire_due(schedules: ScheduleStore, grace_ms: int) -> int:
    """One pass over the due schedules; returns the firings attempted."""
    now = await schedules.now_ms()
    due = await schedules.due(now, BATCH)
    for schedule_id, due_ms in due:
        try:
            await fire_one(schedules, schedule_id, due_ms, now, grace_ms)
        except NotFound:
            continue  # deleted meanwhile
    return len(due)


async def fire_one(
    schedules: ScheduleStore, schedule_id: str, due_ms: int, now: int, grace_ms: int
) -> None:
    schedule = await schedules.get(schedule_id)
    spec = schedule.spec
    missed = now - due_ms > grace_ms
    after = now if missed else due_ms
    following = next_fire_ms(
        cron=spec.cron,
        time_zone=spec.time_zone,
        interval_ms=spec.interval_ms,
        anchor_ms=schedule.created_ms,
        after_ms=after,
    )
    create = not missed or spec.misfire == "run_once"
    firing = await schedules.fire(schedule_id, due_ms=due_ms, next_fire_ms=following, create=create)
    if missed:
        log.warning(
            "event=schedule_misfired schedule_id=%s due_ms=%d policy=%s outcome=%s task_id=%s",
            schedule_id, due_ms, spec.misfire, firing.outcome, firing.task_id,
        )  # fmt: skip
    elif firing.outcome == "fired":
        log.info("event=schedule_fired schedule_id=%s task_id=%s", schedule_id, firing.task_id)


async def fire_schedules(schedules: ScheduleStore, grace_s: float, stop: asyncio.Event) -> None:
    grace_ms = int(grace_s * 1000)
    while not stop.is_set():
        try:
            fired = await fire_due(schedules, grace_ms)
            if fired == BATCH:
                continue
            now, next_due = await schedules.now_ms(), await schedules.next_due_ms()
        except Exception:
            log.exception("event=schedule_fire_failed")
            await sleep_unless(stop, 1.0)
            continue
        wait = POLL_S if next_due is None else min(POLL_S, max(0.0, (next_due - now) / 1000))
        await sleep_unless(stop, wait)
