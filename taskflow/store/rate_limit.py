"""The provider's rate limit, shared by every worker through Redis (contract §7).

A token bucket of `requests` tokens per `interval`, configured in
`openrouter:rate_limit_config` and taken from with one Lua call
(lua/rate_limit_acquire.lua) on the Redis server clock. A token comes back one
interval after it was spent, so however the workers burst, no window of one
interval ever sees more than `requests` calls start, and under load they get the
whole allowance.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskflow.store.keys import ProviderKeys
from taskflow.store.scripts import script_source

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|)\s*$")
_UNIT_S = {"ms": 0.001, "": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
# Waiters wake this much after their token is due, at random, so they do not all
# ask in the same millisecond.
_WAKE_SPREAD_S = 0.005


def interval_seconds(interval: str) -> float:
    """'10s' -> 10.0 ('500ms', '1m', '1h' and a bare number of seconds work too)."""
    match = _INTERVAL.match(interval)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"rate-limit interval {interval!r} is not like '10s' or '500ms'")
    return float(match[1]) * _UNIT_S[match[2]]


@dataclass(frozen=True)
class Grant:
    """The outcome of waiting for a token."""

    granted: bool
    wait_s: float  # not granted: how long until the next token is due


@dataclass(frozen=True)
class RateLimitStatus:
    enabled: bool
    requests: int  # per interval; 0 when not configured
    interval: str
    tokens: int
    capacity: int
    refill_rate: float  # tokens per second
    utilization: float  # share of the capacity spent in the current window, 0..1
    source: str  # who set the limit: settings, provider, ...


class RateLimiter:
    """The shared bucket: configure it, take tokens, report on it."""

    def __init__(self, client: Redis, prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix
        self.keys = ProviderKeys(prefix)
        self._script = client.register_script(script_source("rate_limit_acquire"))

    async def configure(self, requests: int, interval: str, source: str = "settings") -> None:
        """Set the limit for every worker (takes effect at their next acquire)."""
        interval_seconds(interval)
        if requests < 1:
            raise ValueError("rate-limit requests must be at least 1")
        await self.client.hset(
            self.keys.rate_limit_config,
            mapping={
                "requests": requests,
                "interval": interval,
                "source": source,
                "updated_at": datetime.now(UTC).isoformat(),
            },
        )

    async def source(self) -> str:
        """Who set the current limit ('' when none is set)."""
        raw = await self.client.hget(self.keys.rate_limit_config, "source")
        return raw.decode() if isinstance(raw, bytes) else (raw or "")

    async def try_acquire(self) -> Grant:
        """Take a token if one is free now (one round trip)."""
        granted, wait_ms, *_ = await self._call(take=True)
        return Grant(bool(granted), int(wait_ms) / 1000)

    async def acquire(self, timeout_s: float) -> Grant:
        """Wait up to `timeout_s` for a token; not granted means the wait ran out."""
        deadline = time.monotonic() + timeout_s
        while True:
            grant = await self.try_acquire()
            if grant.granted:
                return grant
            left = deadline - time.monotonic()
            if grant.wait_s > left:
                return grant
            await asyncio.sleep(grant.wait_s + random.uniform(0, _WAKE_SPREAD_S))

    async def status(self) -> RateLimitStatus:
        _, _, enabled, tokens, capacity, interval_ms = await self._call(take=False)
        raw = await self.client.hgetall(self.keys.rate_limit_config)
        config = {_text(k): _text(v) for k, v in raw.items()}
        capacity = int(capacity)
        return RateLimitStatus(
            enabled=bool(enabled),
            requests=capacity,
            interval=config.get("interval", ""),
            tokens=int(tokens),
            capacity=capacity,
            refill_rate=capacity * 1000 / int(interval_ms) if enabled else 0.0,
            utilization=(capacity - int(tokens)) / capacity if capacity else 0.0,
            source=config.get("source", ""),
        )

    async def _call(self, *, take: bool) -> list[int]:
        keys = self.keys
        result: list[int] = await self._script(
            keys=[keys.rate_limit_config, keys.rate_limit_bucket, keys.rate_limit_grants],
            args=[self.prefix, "1" if take else "0"],
        )
        return result


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
