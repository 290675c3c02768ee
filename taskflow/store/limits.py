"""Per-type limits in Redis: declared by the processes that run the types, enforced
by every claim (lua/_limits.lua), read back for ListLimits.

A rate-limited task's token counts from its handler's start, which the worker
reports (`started`); a task that cannot start within START_WITHIN_S of its claim
is parked instead, and a start never reported counts as made at that deadline.
So no window of one interval sees more handler starts than the rate allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from taskflow.aio import sleep_unless
from taskflow.limits import TypeLimits, parse_rate
from taskflow.store.keys import Keys
from taskflow.store.models import ClaimedTask
from taskflow.store.scripts import Scripts

log = logging.getLogger(__name__)
# A claimed task of a rate-limited type must start within this long of its claim.
START_WITHIN_S = 2.0
# Added to the interval a token stays out after its task started: covers the
# worker's clock read before the handler runs (a thread start for CPU-bound ones).
START_MARGIN_MS = 20
# Tasks held back by a full concurrency limit line up this far apart, times the
# limit, until a run has been seen (then: how long a slot is held, over the limit).
CONCURRENCY_BACKOFF_MS = 250


@dataclass(frozen=True)
class SlotUse:
    value: str  # the concurrency key's value ('' for the whole type)
    used: int


@dataclass(frozen=True)
class LimitUse:
    """A type's declared limits and how much of them is in use now."""

    task_type: str
    limits: TypeLimits
    tokens: int  # rate tokens free now
    capacity: int  # rate tokens per interval (0: no rate limit)
    interval_ms: int
    slots: list[SlotUse]  # concurrency slots in use, per key value
    held_back: int  # tasks held by a limit, not yet due again
    held_rate: int  # tasks ever held back by the rate
    held_concurrency: int  # tasks ever held back by the concurrency limit
    source: str  # who declared the limits
    updated_at: str


class LimitStore:
    def __init__(self, client: Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        self._scripts = Scripts(client)

    async def declare(self, limits: Mapping[str, TypeLimits], source: str) -> None:
        """Store the limits of the types `source` runs; a type declared without any
        has its stored limits removed (the last declaration wins)."""
        now = datetime.now(UTC).isoformat()
        stored = {name: _stored(lim, source, now) for name, lim in limits.items() if lim.any}
        gone = [name for name, lim in limits.items() if not lim.any]
        async with self.client.pipeline(transaction=True) as pipe:
            if stored:
                pipe.hset(self.keys.limit_types, mapping=stored)  # type: ignore[arg-type]
            if gone:
                pipe.hdel(self.keys.limit_types, *gone)
            await pipe.execute()

    async def keep_declared(
        self, limits: Mapping[str, TypeLimits], source: str, every_s: float, stop: asyncio.Event
    ) -> None:
        """Declare `limits` now and every `every_s` until `stop`: a Redis that lost
        its data (a restart without persistence, a flush) has them back soon."""
        while True:
            try:
                await self.declare(limits, source)
            except Exception as error:
                log.warning("event=limits_not_declared source=%r error=%r", source, str(error))
            if await sleep_unless(stop, every_s):
                return

    async def started(self, starts: Sequence[tuple[ClaimedTask, float]]) -> int:
        """Tasks whose handlers started at the given time.monotonic() values."""
        if not starts:
            return 0
        now = time.monotonic()
        args: list[Any] = []
        for claim, at in starts:
            args += [claim.task_id, claim.lease_token, max(0, int((now - at) * 1000))]
        found = await self._scripts["limits_started"](
            keys=[self.keys.limit_types], args=[self.prefix, *args]
        )
        return int(found)

    async def read(self) -> list[LimitUse]:
        """Every declared limit with its use now, by task type."""
        raw = await self._scripts["limits_read"](keys=[self.keys.limit_types], args=[self.prefix])
        rows = json.loads(raw)
        return sorted((_use(row) for row in rows), key=lambda use: use.task_type)


def _stored(limits: TypeLimits, source: str, now: str) -> str:
    capacity, interval_ms = parse_rate(limits.rate) if limits.rate else (0, 0)
    return json.dumps(
        {
            "rate": limits.rate,
            "capacity": capacity,
            "interval_ms": interval_ms,
            "concurrency": limits.concurrency,
            "key": limits.concurrency_key,
            "start_within_ms": int(START_WITHIN_S * 1000),
            "margin_ms": START_MARGIN_MS,
            "backoff_ms": CONCURRENCY_BACKOFF_MS,
            "source": source,
            "updated_at": now,
        }
    )


def _use(row: dict[str, Any]) -> LimitUse:
    cfg = row["limits"]
    slots = row["slots"] or []  # cjson writes an empty list as {}
    return LimitUse(
        task_type=row["task_type"],
        limits=TypeLimits(cfg["rate"], int(cfg["concurrency"]), cfg["key"]),
        tokens=int(row["tokens"]),
        capacity=int(cfg["capacity"]),
        interval_ms=int(cfg["interval_ms"]),
        slots=sorted((SlotUse(s["value"], int(s["used"])) for s in slots), key=lambda s: s.value),
        held_back=int(row["held_back"]),
        held_rate=int(row["held_rate"]),
        held_concurrency=int(row["held_concurrency"]),
        source=cfg.get("source", ""),
        updated_at=cfg.get("updated_at", ""),
    )
