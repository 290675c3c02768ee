"""The per-minute task series: throughput and created->completed latency.

The state-changing scripts keep them (lua/_prelude.lua: one hash per minute of the
Redis server clock, written in the same atomic step as the transition); reading N
minutes is N hash reads in one pipeline, never a scan of tasks. Latencies are
counted in log-spaced buckets, STEPS per doubling of milliseconds, so a percentile
is known to within a bucket (2^(1/STEPS) = 19 %; the midpoint is within 10 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskflow.errors import InvalidInput
from taskflow.store.keys import Keys

STEPS = 4  # buckets per doubling: SERIES_STEPS in lua/_prelude.lua
MAX_MINUTES = 24 * 60  # the hashes live 25 h
QUANTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class MinutePoint:
    minute: datetime
    created: int
    completed: int
    failed: int
    latency_count: int
    latency_avg_s: float
    latency_max_s: float
    percentiles_s: tuple[float, ...]  # one per QUANTILES; zeros with no latency


async def read_series(client: Redis, keys: Keys, minutes: int) -> list[MinutePoint]:
    """The last `minutes` minutes, the current one last."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"minutes must be between 1 and {MAX_MINUTES}")
    seconds, _ = await client.time()
    last = int(seconds) // 60
    first = last - minutes + 1
    async with client.pipeline(transaction=False) as pipe:
        for minute in range(first, last + 1):
            pipe.hgetall(keys.series_minute(minute))
        rows = await pipe.execute()
    return [_point(first + i, _decoded(row)) for i, row in enumerate(rows)]


def _decoded(row: dict[bytes | str, bytes | str]) -> dict[str, int]:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return {text(k): int(text(v)) for k, v in row.items()}


def _point(minute: int, row: dict[str, int]) -> MinutePoint:
    buckets = sorted(
        (int(name[1:]), count) for name, count in row.items() if name.startswith("b") and count
    )
    count = sum(n for _, n in buckets)
    max_s = row.get("lat_max_ms", 0) / 1000 if count else 0.0
    return MinutePoint(
        minute=datetime.fromtimestamp(minute * 60, UTC),
        created=row.get("created", 0),
        completed=row.get("completed", 0),
        failed=row.get("failed", 0),
        latency_count=count,
        latency_avg_s=row.get("lat_sum_ms", 0) / 1000 / count if count else 0.0,
        latency_max_s=max_s,
        percentiles_s=tuple(_quantile(buckets, count, q, max_s) for q in QUANTILES),
    )


def _quantile(buckets: list[tuple[int, int]], count: int, q: float, max_s: float) -> float:
    """The bucket holding the q-th latency, as its geometric midpoint (never above
    the minute's largest latency)."""
    if not count:
        return 0.0
    rank = math.ceil(q * count)
    seen = 0
    for bucket, n in buckets:
        seen += n
        if seen >= rank:
            upper_ms = 2 ** (bucket / STEPS) if bucket > 0 else 1.0
            mid_ms = upper_ms * 2 ** (-0.5 / STEPS) if bucket > 0 else 0.5
            return min(mid_ms / 1000, max_s)
    return max_s
