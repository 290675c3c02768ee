"""The provider's rate limit, shared by every worker through Redis (contract §7).

`requests` tokens per `interval`, configured in `openrouter:rate_limit_config`.
A caller takes a token (lua/rate_limit_acquire.lua, on the Redis server clock),
must send within SEND_WITHIN_S of the grant or give the token up, and says when
it sent (lua/rate_limit_send.lua): the token comes back one interval plus
ARRIVAL_MARGIN_S after the send. So the limit holds where it is promised, at the
provider, even when a loaded machine sends well after the grant; and under load
the workers still get nearly the whole allowance. A caller that finds no token
free reserves the one that comes back first (if within its wait) and sleeps until
then: waiters do not all wake and race for each returning token, and the one that
gets it needs no further round trip before sending.

    grant = await limiter.acquire(30.0)
    ...just before the request goes: grant.in_time(), else limiter.unused(grant)...
    await limiter.sent(grant, ago_s)        # or limiter.unused(grant)
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from taskflow.store.keys import ProviderKeys
from taskflow.store.replies import text as _text
from taskflow.store.scripts import Scripts

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|)\s*$")
_UNIT_S = {"ms": 0.001, "": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
# Waiters wake this much after their token is due, at random, so they do not all
# ask in the same millisecond.
_WAKE_SPREAD_S = 0.005
# A granted token must be used for a send within this long, or given up; a caller
# that dies holding one frees it this long plus one interval after the grant.
SEND_WITHIN_S = 2.0
# Added to the interval a token stays out after its send: requests sent one
# interval apart may arrive a little less than that apart (the network, the
# provider's own accept queue). Each ms costs utilisation: 50 ms of a 2 s interval
# is 2.4 %.
ARRIVAL_MARGIN_S = 0.05


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
    token: str = ""  # granted under a limit: the token's id (for sent / unused)
    send_by: float = math.inf  # time.monotonic() by which the request must go
    # time.monotonic() before which the request must not go (a reserved token
    # that is not back yet); acquire() sleeps until then.
    not_before: float = 0.0

    def in_time(self) -> bool:
        """May the request still go on this grant?"""
        return time.monotonic() <= self.send_by


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
        # lua/rate_limit_{acquire,send}.lua, each with lua/rate_limit_common.lua.
        scripts = Scripts(client)
        self._script = scripts["rate_limit_acquire"]
        self._send_script = scripts["rate_limit_send"]

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

    async def try_acquire(self, reserve_within_s: float = 0.0) -> Grant:
        """Take a token if one is free now, or reserve the first to come back within
        `reserve_within_s` (one round trip)."""
        asked_at, token = time.monotonic(), uuid.uuid4().hex
        granted, wait_ms, enabled, *_ = await self._call(
            take=True, token=token, reserve_ms=int(reserve_within_s * 1000)
        )
        if not granted or not enabled:
            return Grant(bool(granted), int(wait_ms) / 1000)
        wait_s = int(wait_ms) / 1000
        # Send-by measured from before the ask, not-before from after the answer:
        # the grant happened (on the Redis clock) in between.
        not_before = time.monotonic() + wait_s if wait_s else 0.0
        return Grant(True, 0.0, token, asked_at + wait_s + SEND_WITHIN_S, not_before)

    async def sent(self, grant: Grant, ago_s: float = 0.0) -> None:
        """The request paid for by `grant` went out `ago_s` seconds ago."""
        await self._settle(grant, "sent", ago_s)

    async def unused(self, grant: Grant) -> None:
        """Nothing was sent on `grant`: its token is free again."""
        await self._settle(grant, "unused", 0.0)

    async def _settle(self, grant: Grant, action: str, ago_s: float) -> None:
        if not grant.token:
            return
        keys = self.keys
        await self._send_script(
            keys=[keys.rate_limit_config, keys.rate_limit_pending, keys.rate_limit_sends],
            args=[self.prefix, action, grant.token, int(ago_s * 1000), _MARGIN_MS, _SEND_WITHIN_MS],
        )

    async def acquire(self, timeout_s: float) -> Grant:
        """Wait up to `timeout_s` for a token; not granted means the wait ran out.
        A reserved token is slept for here: the grant returned may be used at once."""
        deadline = time.monotonic() + timeout_s
        while True:
            grant = await self.try_acquire(max(0.0, deadline - time.monotonic()))
            if grant.granted:
                await self._until_back(grant)
                return grant
            left = deadline - time.monotonic()
            if grant.wait_s > left:
                return grant
            await asyncio.sleep(grant.wait_s + random.uniform(0, _WAKE_SPREAD_S))

    async def _until_back(self, grant: Grant) -> None:
        delay = grant.not_before - time.monotonic()
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # The reservation goes back (to come back when its token does).
            await asyncio.shield(self.unused(grant))
            raise

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

    async def _call(self, *, take: bool, token: str = "", reserve_ms: int = 0) -> list[int]:
        keys = self.keys
        result: list[int] = await self._script(
            keys=[
                keys.rate_limit_config, keys.rate_limit_bucket,
                keys.rate_limit_pending, keys.rate_limit_sends,
            ],
            args=[
                self.prefix, "1" if take else "0", token, _SEND_WITHIN_MS, _MARGIN_MS,
                reserve_ms,
            ],
        )  # fmt: skip
        return result


_SEND_WITHIN_MS = int(SEND_WITHIN_S * 1000)
_MARGIN_MS = int(ARRIVAL_MARGIN_S * 1000)
