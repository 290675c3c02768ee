"""Recurring schedules in Redis: one hash each, plus a sorted set of due times.

A firing is one Lua call (lua/schedule_fire.lua) that checks the schedule still
has the fire time the caller saw, creates the task and advances the schedule, so
any number of scheduler replicas fire each (schedule, fire time) once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from taskflow.errors import InvalidInput, NotFound
from taskflow.store.config import StoreConfig
from taskflow.store.keys import Keys
from taskflow.store.replies import text as _text
from taskflow.store.scripts import Scripts
from taskflow.store.tasks import domain_error


@dataclass(frozen=True)
class ScheduleSpec:
    """What a schedule creates and when: a cron expression or an interval."""

    task_type: str
    content: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    priority: int = 0
    max_retries: int = 3
    cron: str = ""
    time_zone: str = ""
    interval_ms: int = 0
    misfire: str = "skip"  # "skip" or "run_once"
    overlap: str = "allow"  # "allow" or "skip"
    retention_s: int = 0  # of each task, resolved when the schedule is written
    # A remote worker's type: the named queue it was registered under when the
    # schedule was written (a firing follows its route as it stands then); "" for a
    # type handled here.
    queue: str = ""


@dataclass(frozen=True)
class Schedule:
    schedule_id: str
    spec: ScheduleSpec
    paused: bool
    created_ms: int
    next_fire_ms: int | None
    last_fire_ms: int | None
    last_task_id: str
    last_task_state: str
    fire_count: int


@dataclass(frozen=True)
class Firing:
    """The outcome of one firing: 'fired', 'skipped' or 'stale', and the task made."""

    outcome: str
    task_id: str


def check_schedule_id(schedule_id: str) -> str:
    try:
        return str(uuid.UUID(schedule_id))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"schedule_id {schedule_id!r} is not a UUID") from None


def _spec_fields(spec: ScheduleSpec) -> dict[Any, str | int]:
    return {
        "task_type": spec.task_type,
        "content": spec.content,
        "metadata": json.dumps(dict(spec.metadata)),
        "priority": spec.priority,
        "max_retries": spec.max_retries,
        "cron": spec.cron,
        "time_zone": spec.time_zone,
        "interval_ms": spec.interval_ms,
        "misfire": spec.misfire,
        "overlap": spec.overlap,
        "retention_s": spec.retention_s,
        "queue": spec.queue,
    }


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


class ScheduleStore:
    """Schedules: create, read, change, and fire them."""

    def __init__(self, client: Redis, config: StoreConfig | None = None) -> None:
        self.client = client
        self.config = config or StoreConfig()
        self.keys = Keys(self.config.prefix)
        self._scripts = Scripts(client)

    async def now_ms(self) -> int:
        """The Redis server clock, the one every script uses."""
        seconds, micros = await self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000

    async def create(self, spec: ScheduleSpec, *, created_ms: int, next_fire_ms: int) -> str:
        schedule_id = str(uuid.uuid4())
        key = self.keys.schedule(schedule_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    **_spec_fields(spec),
                    "schedule_id": schedule_id,
                    "paused": "0",
                    "created_ms": created_ms,
                    "next_fire_ms": next_fire_ms,
                    "last_fire_ms": "",
                    "last_task_id": "",
                    "fire_count": 0,
                },
            )
            pipe.zadd(self.keys.schedules_all, {schedule_id: created_ms})
            pipe.zadd(self.keys.schedules_due, {schedule_id: next_fire_ms})
            await pipe.execute()
        return schedule_id

    async def get(self, schedule_id: str) -> Schedule:
        schedule_id = check_schedule_id(schedule_id)
        raw = await self.client.hgetall(self.keys.schedule(schedule_id))
        if not raw:
            raise NotFound(f"schedule {schedule_id} does not exist")
        return await self._schedule({_text(k): _text(v) for k, v in raw.items()})

    async def all(self) -> list[Schedule]:
        raw_ids: list[Any] = list(await self.client.zrange(self.keys.schedules_all, 0, -1))
        ids = [_text(i) for i in raw_ids]
        found = []
        for schedule_id in ids:
            try:
                found.append(await self.get(schedule_id))
            except NotFound:
                continue  # deleted meanwhile
        return found

    async def update(self, schedule_id: str, spec: ScheduleSpec, *, next_fire_ms: int) -> None:
        current = await self.get(schedule_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.schedule(current.schedule_id),
                mapping={**_spec_fields(spec), "next_fire_ms": next_fire_ms},
            )
            if not current.paused:
                pipe.zadd(self.keys.schedules_due, {current.schedule_id: next_fire_ms})
            await pipe.execute()

    async def pause(self, schedule_id: str) -> None:
        current = await self.get(schedule_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.schedule(current.schedule_id), "paused", "1")
            pipe.zrem(self.keys.schedules_due, current.schedule_id)
            await pipe.execute()

    async def resume(self, schedule_id: str, *, next_fire_ms: int) -> None:
        current = await self.get(schedule_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.schedule(current.schedule_id),
                mapping={"paused": "0", "next_fire_ms": next_fire_ms},
            )
            pipe.zadd(self.keys.schedules_due, {current.schedule_id: next_fire_ms})
            await pipe.execute()

    async def delete(self, schedule_id: str) -> None:
        schedule_id = check_schedule_id(schedule_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.schedule(schedule_id))
            pipe.zrem(self.keys.schedules_all, schedule_id)
            pipe.zrem(self.keys.schedules_due, schedule_id)
            deleted, _, _ = await pipe.execute()
        if not deleted:
            raise NotFound(f"schedule {schedule_id} does not exist")

    async def due(self, now_ms: int, limit: int) -> list[tuple[str, int]]:
        """Active schedules whose next fire time is at or before `now_ms`, soonest first."""
        rows: list[Any] = list(
            await self.client.zrangebyscore(
                self.keys.schedules_due, "-inf", now_ms, start=0, num=limit, withscores=True
            )
        )
        return [(_text(i), int(score)) for i, score in rows]

    async def next_due_ms(self) -> int | None:
        rows: list[Any] = list(
            await self.client.zrange(self.keys.schedules_due, 0, 0, withscores=True)
        )
        return int(rows[0][1]) if rows else None

    async def fire(
        self, schedule_id: str, *, due_ms: int | None, next_fire_ms: int | None, create: bool
    ) -> Firing:
        """Fire the schedule for `due_ms` if it is still its next fire time (None: a
        manual trigger, which neither checks nor advances it)."""
        schedule_id = check_schedule_id(schedule_id)
        try:
            reply: list[bytes | str] = await self._scripts["schedule_fire"](
                keys=[self.keys.schedule(schedule_id)],
                args=[
                    self.config.prefix,
                    schedule_id,
                    "" if due_ms is None else due_ms,
                    "" if next_fire_ms is None else next_fire_ms,
                    1 if create else 0,
                    str(uuid.uuid4()),
                ],
            )
        except ResponseError as exc:
            raise domain_error(exc) from None
        return Firing(_text(reply[0]), _text(reply[1]))

    async def _schedule(self, raw: Mapping[str, str]) -> Schedule:
        last_task_id = raw.get("last_task_id", "")
        last_state = ""
        if last_task_id:
            state = await self.client.hget(self.keys.task(last_task_id), "state")
            last_state = _text(state) if state else ""
        spec = ScheduleSpec(
            task_type=raw["task_type"],
            content=raw.get("content", ""),
            metadata=json.loads(raw.get("metadata") or "{}"),
            priority=int(raw.get("priority") or 0),
            max_retries=int(raw.get("max_retries") or 0),
            cron=raw.get("cron", ""),
            time_zone=raw.get("time_zone", ""),
            interval_ms=int(raw.get("interval_ms") or 0),
            misfire=raw.get("misfire", "skip"),
            overlap=raw.get("overlap", "allow"),
            retention_s=int(raw.get("retention_s") or 0),
            queue=raw.get("queue", ""),
        )
        paused = raw.get("paused") == "1"
        return Schedule(
            schedule_id=raw["schedule_id"],
            spec=spec,
            paused=paused,
            created_ms=int(raw.get("created_ms") or 0),
            next_fire_ms=None if paused else _int_or_none(raw.get("next_fire_ms")),
            last_fire_ms=_int_or_none(raw.get("last_fire_ms")),
            last_task_id=last_task_id,
            last_task_state=last_state,
            fire_count=int(raw.get("fire_count") or 0),
        )
