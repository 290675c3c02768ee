"""The provider's status for the Monitor (contract §4), from a cache shared in Redis.

At most one refresh a minute across the cluster asks the provider's key and
credits endpoints; every other call reads `openrouter:state`. The breaker's
live figures (consecutive failures, open or not) are added on every call.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from taskflow.provider.client import ChatClient, ProviderConfig
from taskflow.provider.guarded import PROVIDER_SERVICE
from taskflow.provider.http_errors import KeyRejected
from taskflow.settings import Settings
from taskflow.store.breaker import BreakerConfig, BreakerState, CircuitBreakerStore
from taskflow.store.provider_state import (
    ProviderDailyMetrics,
    ProviderMetricsStore,
    ProviderState,
    ProviderStatus,
    ProviderStatusStore,
    with_live_fields,
)
from taskflow.store.rate_limit import RateLimiter, interval_seconds
from taskflow.tasks.errors import InsufficientCredits, PermanentError, TaskError

log = logging.getLogger(__name__)
CACHE_SECONDS = 60.0


class ProviderStatusService:
    """`status()` and `metrics()` for MonitorService; `client` None means no API key."""

    def __init__(
        self,
        client: ChatClient | None,
        store: ProviderStatusStore,
        metrics_store: ProviderMetricsStore,
        breakers: CircuitBreakerStore,
        limiter: RateLimiter | None = None,
        *,
        cache_seconds: float = CACHE_SECONDS,
        service: str = PROVIDER_SERVICE,
    ) -> None:
        self.client = client
        self.store = store
        self.metrics_store = metrics_store
        self.breakers = breakers
        self.limiter = limiter
        self.cache_seconds = cache_seconds
        self.service = service

    async def status(self, *, force: bool = False) -> ProviderStatus:
        cached = await self.store.cached()
        fresh = cached is not None and _age(cached) < timedelta(seconds=self.cache_seconds)
        cache_hit = True
        if force or (not fresh and await self.store.claim_refresh(self.cache_seconds)):
            cached = await self._refresh()
            cache_hit = False
        if cached is None:  # another process is refreshing right now
            cached = ProviderStatus(
                ProviderState.ERROR, "status not checked yet", None, None, None, _now()
            )
        breaker = await self.breakers.state(self.service)
        return with_live_fields(
            cached,
            consecutive_failures=breaker.consecutive_failures,
            breaker_open=breaker.state is not BreakerState.CLOSED,
            cache_hit=cache_hit,
        )

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def metrics(self, days: int = 7) -> list[ProviderDailyMetrics]:
        return await self.metrics_store.daily(days)

    async def _refresh(self) -> ProviderStatus:
        if self.client is None:
            status = ProviderStatus(
                ProviderState.API_KEY_MISSING,
                "no OPENROUTER_API_KEY configured: local summaries and PDF text extraction",
                None, None, None, _now(),
            )  # fmt: skip
            await self.store.save(status)
            return status
        credits: dict[str, Any] = {}
        try:
            key = await self.client.key_info()
            try:
                credits = await self.client.credits()
            except PermanentError:
                credits = {}  # no /credits endpoint (not every provider has one)
            status = _from_key_info(key, credits)
            await self._adopt_rate_limit(key)
        except TaskError as error:
            status = _from_error(error)
        log.info("event=provider_status status=%s", status.status.value)
        await self.store.save(status, credits)
        return status

    async def _adopt_rate_limit(self, key: dict[str, Any]) -> None:
        """Use the key's rate limit unless settings or an operator set one."""
        limit = key.get("rate_limit")
        if self.limiter is None or not isinstance(limit, dict):
            return
        if await self.limiter.source() not in ("", "provider"):
            return
        try:
            requests, interval = int(limit["requests"]), str(limit["interval"])
            interval_seconds(interval)
        except (KeyError, TypeError, ValueError):
            return
        if requests > 0:
            await self.limiter.configure(requests, interval, source="provider")


def _from_key_info(key: dict[str, Any], credits: dict[str, Any]) -> ProviderStatus:
    balance: float | None = None
    if "total_credits" in credits:
        balance = float(credits["total_credits"]) - float(credits.get("total_usage") or 0)
    elif key.get("limit_remaining") is not None:
        balance = float(key["limit_remaining"])
    today, month = key.get("usage_daily"), key.get("usage_monthly")
    exhausted = balance is not None and balance <= 0 and not key.get("is_free_tier")
    return ProviderStatus(
        status=ProviderState.CREDITS_EXHAUSTED if exhausted else ProviderState.ACTIVE,
        message="no credits left" if exhausted else "provider reachable, key accepted",
        balance=balance,
        usage_today=float(today) if today is not None else None,
        usage_month=float(month) if month is not None else None,
        last_check=_now(),
    )


def _from_error(error: TaskError) -> ProviderStatus:
    if isinstance(error, InsufficientCredits):
        state, message = ProviderState.CREDITS_EXHAUSTED, "no credits left"
    elif isinstance(error, KeyRejected):
        state, message = ProviderState.API_KEY_INVALID, "the provider rejected the API key"
    else:
        state, message = ProviderState.ERROR, "provider status check failed"
    return ProviderStatus(state, message, None, None, None, _now(), error_details=str(error))


def _age(status: ProviderStatus) -> timedelta:
    return _now() - status.last_check


def _now() -> datetime:
    return datetime.now(UTC)


def build_provider_status(settings: Settings, client: Redis) -> ProviderStatusService:
    """The status service a Monitor process needs; `aclose()` it on shutdown."""
    prefix = settings.key_prefix
    config = ProviderConfig.from_settings(settings)
    return ProviderStatusService(
        ChatClient(config) if config else None,
        ProviderStatusStore(client, prefix),
        ProviderMetricsStore(client, prefix),
        CircuitBreakerStore(client, BreakerConfig.from_settings(settings), prefix),
        RateLimiter(client, prefix),
    )
