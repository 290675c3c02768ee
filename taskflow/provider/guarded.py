"""Provider calls behind the cluster-wide circuit breaker and rate limiter.

Per call: the breaker asked (an open one rejects before a token is spent), a
rate-limit token waited for, the breaker asked again at the moment of sending (it
may have opened during the wait), the HTTP request, whose send time goes back to
the limiter, then the outcome recorded (breaker and daily metrics, sent together).
A rejected call raises before anything is sent: BreakerOpen (a Parked: the task is
held back until a probe may go, no retry spent, no failure recorded) whenever the
breaker is open, before the wait or after it; RateLimitError when no token came
within the wait, with `retry_after` so the task is rescheduled, not failed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from taskflow.provider.client import ChatClient, Message
from taskflow.provider.streaming import Partial
from taskflow.store.breaker import CircuitBreakerStore, Permit
from taskflow.store.provider_state import CallOutcome, ProviderMetricsStore
from taskflow.store.rate_limit import SEND_WITHIN_S, Grant, RateLimiter
from taskflow.tasks.errors import (
    NetworkTimeout,
    Parked,
    RateLimitError,
    ServiceUnavailable,
    TaskError,
)

log = logging.getLogger(__name__)
# The breaker guarding the provider is known by this name (circuit_breaker:openrouter).
PROVIDER_SERVICE = "openrouter"
# A grant that could not be used in time (SEND_WITHIN_S) is given up and another
# waited for, at most this many times per call.
SEND_ATTEMPTS = 3
# Parked calls come back spread over this share of their hold, not all at once.
PARK_SPREAD = 0.10


class BreakerOpen(Parked):
    """The provider's circuit breaker is open: the call was not sent, and the task
    is parked until a probe may go (spread over PARK_SPREAD of the hold)."""

    def __init__(self, reason: str, *, retry_after_s: float) -> None:
        super().__init__(reason, hold_s=retry_after_s * (1 + random.uniform(0, PARK_SPREAD)))


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
        on_partial: Partial | None = None,
    ) -> str:
        """The reply text; with `on_partial`, streamed where the provider streams
        (`on_partial` gets the text so far as it grows)."""
        permit = await self.breakers.acquire(self.service)
        if not permit.allowed:
            raise BreakerOpen(
                f"circuit breaker for {self.service} is open",
                retry_after_s=permit.retry_after_s,
            )
        for _ in range(SEND_ATTEMPTS):
            grant = await self._token()
            permit = await self._permit_to_send(permit, grant)
            send = _Send(self.limiter, grant)
            try:
                reply = await self.client.chat(
                    messages, model=model, json_output=json_output, max_tokens=max_tokens,
                    trace=send.trace, on_partial=on_partial,
                )  # fmt: skip
            except _TooLate:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await self._record(permit, error)
                raise
            finally:
                await send.settle()
            await self._record(permit, None)
            return reply
        raise RateLimitWait(
            f"no rate-limit token for {self.service} could be used within "
            f"{SEND_WITHIN_S:g} s of its grant, {SEND_ATTEMPTS} times",
            retry_after=0.0,
        )

    async def _token(self) -> Grant:
        grant = await self.limiter.acquire(self.rate_limit_wait_s)
        if not grant.granted:
            raise RateLimitWait(
                f"no rate-limit token for {self.service} within {self.rate_limit_wait_s:g} s",
                retry_after=grant.wait_s,
            )
        return grant

    async def _permit_to_send(self, permit: Permit, grant: Grant) -> Permit:
        """The breaker's say at the moment of sending: a breaker that opened while the
        call waited for its token sends nothing (the token is given back) and the task
        is parked until a probe may go. A probe permit is ours already."""
        if permit.probe:
            return permit
        now = await self.breakers.acquire(self.service)
        if now.allowed:
            return now
        await self.limiter.unused(grant)
        raise BreakerOpen(
            f"circuit breaker for {self.service} opened while the call waited to be sent",
            retry_after_s=now.retry_after_s,
        )

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


class _TooLate(Exception):
    """The request would have gone more than SEND_WITHIN_S after its grant."""


class _Send:
    """Watches one request go out (httpx's trace hook): refuses to start it on a
    grant past its send deadline, and tells the limiter when it went."""

    def __init__(self, limiter: RateLimiter, grant: Grant) -> None:
        self.limiter = limiter
        self.grant = grant
        self.started = False
        self.sent_at: float | None = None
        self.settled = not grant.token  # no limit: nothing to report

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            if not self.grant.in_time():
                raise _TooLate
            self.started = True
        elif event.endswith("send_request_body.complete"):
            self.sent_at = time.monotonic()
            await self.settle()

    async def settle(self) -> None:
        """Report the send (or that nothing went) once; a request that failed while
        going out may have arrived, so it counts as sent now."""
        if self.settled:
            return
        try:
            if self.sent_at is not None:
                await self.limiter.sent(self.grant, time.monotonic() - self.sent_at)
            elif self.started:
                await self.limiter.sent(self.grant)
            else:
                await self.limiter.unused(self.grant)
            self.settled = True
        except Exception as error:  # the token's deadline frees it anyway
            log.warning("event=rate_limit_report_failed error=%r", str(error))
