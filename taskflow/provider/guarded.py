"""Provider calls behind the cluster-wide circuit breaker and rate limiter.

Per call: one breaker round trip, one limiter round trip, the HTTP call, then the
outcome recorded (breaker and daily metrics, sent together). A rejected call
raises before anything is sent: ServiceUnavailable while the breaker is open,
RateLimitError when no token came within the wait, each with `retry_after` so
the task is rescheduled for when a call can go, not failed.
"""

from __future__ import annotations

import asyncio
import logging

from taskflow.provider.client import ChatClient, Message
from taskflow.store.breaker import CircuitBreakerStore, Permit
from taskflow.store.provider_state import CallOutcome, ProviderMetricsStore
from taskflow.store.rate_limit import RateLimiter
from taskflow.tasks.errors import (
    NetworkTimeout,
    RateLimitError,
    ServiceUnavailable,
    TaskError,
)

log = logging.getLogger(__name__)
# The breaker guarding the provider is known by this name (circuit_breaker:openrouter).
PROVIDER_SERVICE = "openrouter"


class BreakerOpen(ServiceUnavailable):
    """The provider's circuit breaker is open: the call was not sent."""

    consumes_retry = False


class RateLimitWait(RateLimitError):
    """No rate-limit token came within the wait: the call was not sent."""

    consumes_retry = False


def counts_against_breaker(error: BaseException) -> bool:
    """Failures that say the provider is unwell (5xx, timeouts, dropped connections).

    Answers about the request or the account (4xx, 402, 429) show a working provider.
    """
    if isinstance(error, TaskError):
        return isinstance(error, NetworkTimeout | ServiceUnavailable)
    return True


class Provider:
    """What handlers call: `chat(...)` with the shared breaker and limiter around it."""

    def __init__(
        self,
        client: ChatClient,
        breakers: CircuitBreakerStore,
        limiter: RateLimiter,
        metrics: ProviderMetricsStore,
        *,
        rate_limit_wait_s: float = 30.0,
        service: str = PROVIDER_SERVICE,
    ) -> None:
        self.client = client
        self.breakers = breakers
        self.limiter = limiter
        self.metrics = metrics
        self.rate_limit_wait_s = rate_limit_wait_s
        self.service = service

    @property
    def model(self) -> str:
        return self.client.config.model

    @property
    def vision_model(self) -> str:
        return self.client.config.vision_model or self.client.config.model

    async def chat(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        json_output: bool = False,
        max_tokens: int | None = None,
    ) -> str:
        permit = await self.breakers.acquire(self.service)
        if not permit.allowed:
            raise BreakerOpen(
                f"circuit breaker for {self.service} is open",
                retry_after=permit.retry_after_s,
            )
        grant = await self.limiter.acquire(self.rate_limit_wait_s)
        if not grant.granted:
            raise RateLimitWait(
                f"no rate-limit token for {self.service} within {self.rate_limit_wait_s:g} s",
                retry_after=grant.wait_s,
            )
        try:
            reply = await self.client.chat(
                messages, model=model, json_output=json_output, max_tokens=max_tokens
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._record(permit, error)
            raise
        await self._record(permit, None)
        return reply

    async def _record(self, permit: Permit, error: BaseException | None) -> None:
        if error is None:
            outcome, breaker = CallOutcome.SUCCESS, self.breakers.record_success
        else:
            rate_limited = isinstance(error, RateLimitError)
            outcome = CallOutcome.RATE_LIMITED if rate_limited else CallOutcome.FAILURE
            unwell = counts_against_breaker(error)
            breaker = self.breakers.record_failure if unwell else self.breakers.record_success
        _, state = await asyncio.gather(self.metrics.record(outcome), breaker(self.service, permit))
        if permit.probe or state != "CLOSED":
            log.info(
                "event=circuit_breaker service=%s probe=%s outcome=%s state=%s",
                self.service, permit.probe, outcome.value, state,
            )  # fmt: skip
