"""Due means PENDING (docs/state-machine.md, "Delayed tasks"): a SCHEDULED task
whose due time has passed by the Redis clock reads as PENDING, with a history entry
PENDING stamped at that time, before promote.lua catches its hash up (and writes
that same stamp). The due time comes from the hash every read fetches anyway:
`retry_after` (set by each move into SCHEDULED after a run: fail, park, a held
task) or else `run_at` (a delayed first run); both are written in the same script
step as the task's score in tasks:scheduled, as the same whole ms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline, RedisCluster

from taskflow.store.keys import QueueKeys

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _us(text: str) -> int:
    return (datetime.fromisoformat(text) - _EPOCH) // _US


def ms_of_time(reply: tuple[int, int]) -> int:
    """A TIME reply in ms: every due comparison uses the Redis clock, as the scripts do."""
    seconds, micros = reply
    return int(seconds) * 1000 + int(micros) // 1000


async def redis_now_ms(client: Redis) -> int:
    return ms_of_time(await client.time())


async def with_redis_now_ms(
    client: Redis, pipe: Pipeline | ClusterPipeline
) -> tuple[list[Any], int]:
    """The replies of `pipe` (its commands queued) and the Redis clock after them, in
    the same round trip. A cluster client refuses TIME in a pipeline (no key names
    its node), so there the clock is one more call, still read after the replies."""
    if isinstance(client, RedisCluster):
        replies = await pipe.execute()
        return replies, await redis_now_ms(client)
    pipe.time()
    *replies, now = await pipe.execute()
    return replies, ms_of_time(now)


def ask_list_depths(pipe: Pipeline | ClusterPipeline, lists: Sequence[str], now_ms: int) -> None:
    """Queue on `pipe` what the depth of each of `lists` takes: its length and the
    ids of its scheduled part due by `now_ms` (due ids count in their list's depth)."""
    for list_key in lists:
        pipe.llen(list_key)
        pipe.zcount(QueueKeys.scheduled_part(list_key), "-inf", now_ms)


def list_depths(replies: Sequence[Any]) -> list[int]:
    """The depths asked by ask_list_depths, one per list, from its replies."""
    return [int(replies[i]) + int(replies[i + 1]) for i in range(0, len(replies), 2)]


def due_ms(raw: Mapping[str, str]) -> int | None:
    """When a SCHEDULED hash falls due, in ms; None when it names no time."""
    text = raw.get("retry_after") or raw.get("run_at")
    return _us(text) // 1000 if text else None


def as_read(raw: dict[str, str], now_ms: int) -> dict[str, str]:
    """The hash as every read shows it: a due SCHEDULED task PENDING, its history
    gaining PENDING at its due time (or when it entered SCHEDULED, if later: a due
    time is in whole ms; lua/_prelude.lua due_stamp_us), `queue` its list's name."""
    if raw.get("state") != "SCHEDULED":
        return raw
    try:
        due = due_ms(raw)
        if due is None or due > now_ms:
            return raw
        stamp = due * 1000
        entered = raw.get("scheduled_at", "")
        if entered:
            stamp = max(stamp, _us(entered))
    except ValueError:
        return raw  # malformed: Task.from_hash says so
    queue = raw.get("queue", "")
    first_run = queue == "primary" or queue.startswith("queue:")
    shown = raw | {"state": "PENDING", "queue": "primary" if first_run else "retry"}
    created = raw.get("created_us", "")
    if created.isdigit():  # else malformed: promotion leaves it, no entry to show
        shown["state_log"] = raw.get("state_log", "") + f"P{stamp - int(created)}"
    return shown
