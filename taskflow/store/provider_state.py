"""What the cluster knows about the LLM provider: cached status and daily call stats.

`openrouter:state` caches the provider status (refreshed at most once a minute by
whoever holds the refresh lock), `openrouter:credits` the last balance figures,
and `openrouter:metrics:{YYYY-MM-DD}` counts calls per UTC day (contract §3, §4).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from taskflow.store.keys import ProviderKeys
from taskflow.store.replies import text as _text

# Daily metrics are kept this long.
METRICS_TTL_S = 90 * 24 * 3600


class ProviderState(StrEnum):
    ACTIVE = "active"
    API_KEY_MISSING = "api_key_missing"
    API_KEY_INVALID = "api_key_invalid"
    CREDITS_EXHAUSTED = "credits_exhausted"
    ERROR = "error"


@dataclass(frozen=True)
class ProviderStatus:
    """GET /api/v1/openrouter/status (contract §4)."""

    status: ProviderState
    message: str
    balance: float | None
    usage_today: float | None
    usage_month: float | None
    last_check: datetime
    error_details: str = ""
    consecutive_failures: int = 0
    circuit_breaker_open: bool = False
    cache_hit: bool = False


class CallOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    RATE_LIMITED = "rate_limited"  # a 429 from the provider (counts as a failure too)


@dataclass(frozen=True)
class ProviderDailyMetrics:
    """GET /api/v1/openrouter/metrics: one UTC day of provider calls."""

    day: date
    calls: int = 0
    successes: int = 0
    failures: int = 0
    rate_limit_hits: int = 0


class ProviderStatusStore:
    """The cached status, the credits hash and the refresh lock."""

    def __init__(self, client: Redis, prefix: str = "") -> None:
        self.client = client
        self.keys = ProviderKeys(prefix)

    async def cached(self) -> ProviderStatus | None:
        raw = await self.client.hgetall(self.keys.state)
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        try:
            return ProviderStatus(
                status=ProviderState(fields["status"]),
                message=fields.get("message", ""),
                balance=_float(fields.get("balance", "")),
                usage_today=_float(fields.get("usage_today", "")),
                usage_month=_float(fields.get("usage_month", "")),
                last_check=datetime.fromisoformat(fields["last_check"]),
                error_details=fields.get("error_details", ""),
            )
        except (KeyError, ValueError):
            return None  # unreadable: treat as not cached, the next refresh rewrites it

    async def save(self, status: ProviderStatus, credits: dict[str, Any] | None = None) -> None:
        fields: dict[FieldT, EncodableT] = {
            "status": status.status.value,
            "message": status.message,
            "balance": _blank(status.balance),
            "usage_today": _blank(status.usage_today),
            "usage_month": _blank(status.usage_month),
            "last_check": status.last_check.isoformat(),
            "error_details": status.error_details,
        }
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.state)
            pipe.hset(self.keys.state, mapping=fields)
            if credits is not None:
                stored: dict[FieldT, EncodableT] = {k: json.dumps(v) for k, v in credits.items()}
                pipe.delete(self.keys.credits)
                if stored:
                    pipe.hset(self.keys.credits, mapping=stored)
            await pipe.execute()

    async def claim_refresh(self, ttl_s: float) -> bool:
        """True for the one caller that may refresh now; the others use the cache."""
        return bool(
            await self.client.set(self.keys.state_refresh_lock, "1", nx=True, px=int(ttl_s * 1000))
        )


class ProviderMetricsStore:
    """Daily counters of provider calls, per UTC day (the worker's clock picks the day)."""

    def __init__(self, client: Redis, prefix: str = "") -> None:
        self.client = client
        self.keys = ProviderKeys(prefix)

    async def record(self, outcome: CallOutcome, when: datetime | None = None) -> None:
        key = self.keys.metrics((when or datetime.now(UTC)).date().isoformat())
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, "calls", 1)
            pipe.hincrby(key, "successes" if outcome is CallOutcome.SUCCESS else "failures", 1)
            if outcome is CallOutcome.RATE_LIMITED:
                pipe.hincrby(key, "rate_limit_hits", 1)
            pipe.expire(key, METRICS_TTL_S)
            await pipe.execute()

    async def daily(self, days: int = 7, today: date | None = None) -> list[ProviderDailyMetrics]:
        """The last `days` days, oldest first (days without calls report zeros)."""
        last = today or datetime.now(UTC).date()
        wanted = [last - timedelta(days=n) for n in range(days - 1, -1, -1)]
        async with self.client.pipeline(transaction=False) as pipe:
            for day in wanted:
                pipe.hgetall(self.keys.metrics(day.isoformat()))
            rows = await pipe.execute()
        return [_metrics(day, row) for day, row in zip(wanted, rows, strict=True)]


def with_live_fields(
    status: ProviderStatus, *, consecutive_failures: int, breaker_open: bool, cache_hit: bool
) -> ProviderStatus:
    """The cached status completed with what changes between refreshes."""
    return replace(
        status,
        consecutive_failures=consecutive_failures,
        circuit_breaker_open=breaker_open,
        cache_hit=cache_hit,
    )


def status_dict(status: ProviderStatus) -> dict[str, Any]:
    """The JSON shape of contract §4 (last_check as ISO text)."""
    out = asdict(status)
    out["status"] = status.status.value
    out["last_check"] = status.last_check.isoformat()
    return out


def _metrics(day: date, row: dict[bytes, bytes]) -> ProviderDailyMetrics:
    counts = {_text(k): int(v) for k, v in row.items()}
    return ProviderDailyMetrics(
        day=day,
        calls=counts.get("calls", 0),
        successes=counts.get("successes", 0),
        failures=counts.get("failures", 0),
        rate_limit_hits=counts.get("rate_limit_hits", 0),
    )


def _float(text: str) -> float | None:
    return float(text) if text else None


def _blank(value: float | None) -> str:
    return "" if value is None else repr(value)
