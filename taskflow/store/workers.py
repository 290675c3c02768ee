"""Worker presence: heartbeats, stats and active-task sets (contract §3)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from taskflow.store.due import with_redis_now_ms
from taskflow.store.keys import Keys
from taskflow.store.models import ClaimBatch

# A worker whose last heartbeat is older than this many heartbeat intervals is
# stale; one silent for an hour is forgotten.
FORGET_AFTER_S = 3600


@dataclass(frozen=True)
class WorkerRecord:
    worker_id: str
    last_seen: float  # unix seconds
    stats: dict[str, str]  # completed, failed (counted by the Lua scripts) + info fields
    active_tasks: list[str]
    alive: bool  # heartbeat key still present (not expired)


class WorkerRegistry:
    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def beat(self, worker_id: str, info: Mapping[str, str | int], ttl_s: int) -> None:
        """Record that `worker_id` is alive, with its descriptive fields."""
        now = time.time()
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.worker_heartbeat(worker_id), f"{now:.3f}", ex=ttl_s)
            fields: dict[Any, str] = {k: str(v) for k, v in info.items()}
            pipe.hset(self.keys.worker_stats(worker_id), mapping=fields)
            pipe.zadd(self.keys.workers_seen, {worker_id: int(now * 1000)})
            await pipe.execute()

    async def leave(self, worker_id: str) -> None:
        """A worker stopping cleanly takes itself off the list."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.worker_heartbeat(worker_id))
            pipe.delete(self.keys.worker_stats(worker_id))
            pipe.zrem(self.keys.workers_seen, worker_id)
            await pipe.execute()

    async def wait_for_work(
        self,
        timeout_s: float,
        queues: Sequence[str] = ("default",),
        *,
        drained: ClaimBatch | None = None,
    ) -> bool:
        """Block until a task is enqueued in one of `queues`, the next delayed task
        falls due (a claim takes due first runs itself, lua/_claim_due.lua), or the
        timeout passes. With `drained`, the claim that found the lists dry (and
        answered the next due time): no round trip of its own to read that."""
        if drained is not None and drained.drained:
            due_in = drained.next_due_in_s
        else:
            due_in = await self._next_due_in_s()
        if due_in is not None:
            timeout_s = min(timeout_s, due_in)
        wakeups = [self.keys.queue_keys(name).wakeup for name in queues]
        return await self.client.blpop(wakeups, timeout=timeout_s) is not None

    async def _next_due_in_s(self) -> float | None:
        """Seconds until the earliest task in tasks:scheduled is due by the Redis
        clock (plus a millisecond, so it is due when the claim runs); None when none
        is scheduled or the earliest is due already (a retry or a named queue's task
        the claim leaves to promotion: waking for it again would spin)."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(self.keys.scheduled, 0, 0, withscores=True)
            (earliest,), now_ms = await with_redis_now_ms(self.client, pipe)
        if not earliest:
            return None
        wait_ms = float(earliest[0][1]) - now_ms
        return (wait_ms + 1) / 1000 if wait_ms > 0 else None

    async def all(self) -> list[WorkerRecord]:
        """Every worker seen within the last hour, most recent first."""
        now_ms = int(time.time() * 1000)
        await self.client.zremrangebyscore(
            self.keys.workers_seen, "-inf", now_ms - FORGET_AFTER_S * 1000
        )
        raw: list[Any] = await self.client.zrange(
            self.keys.workers_seen, 0, -1, desc=True, withscores=True
        )
        seen = [(worker_id.decode(), float(score)) for worker_id, score in raw]
        if not seen:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for worker_id, _ in seen:
                pipe.hgetall(self.keys.worker_stats(worker_id))
                pipe.smembers(self.keys.worker_active_tasks(worker_id))
                pipe.exists(self.keys.worker_heartbeat(worker_id))
            rows = await pipe.execute()
        records = []
        for i, (worker_id, score) in enumerate(seen):
            stats, active, alive = rows[3 * i : 3 * i + 3]
            records.append(
                WorkerRecord(
                    worker_id=worker_id,
                    last_seen=score / 1000,
                    stats={k.decode(): v.decode() for k, v in stats.items()},
                    active_tasks=sorted(t.decode() for t in active),
                    alive=bool(alive),
                )
            )
        return records
