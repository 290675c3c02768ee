"""Circuit breakers shared by every worker through Redis (contract §7).

One hash per service, `circuit_breaker:{service}`; every transition is one Lua
script (lua/breaker_*.lua) on the Redis server clock, so all workers of all
executors see one breaker and exactly one of them probes a half-open one.

    permit = await breakers.acquire("openrouter")
    if not permit.allowed: ...              # reschedule; permit.retry_after_s
    ...call the provider...
    await breakers.record_success("openrouter", permit)   # or record_failure
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from redis.asyncio import Redis

from taskflow.settings import Settings
from taskflow.store.keys import ProviderKeys
from taskflow.store.replies import text as _text
from taskflow.store.scripts import Scripts

# The rolling window is kept in this many buckets.
WINDOW_BUCKETS = 10


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerConfig:
    """Thresholds of contract §7; a breaker opens when all three are met in the window."""

    failure_threshold: int = 10
    volume_threshold: int = 10
    failure_ratio: float = 0.5
    open_seconds: float = 60.0
    window_seconds: float = 60.0
    # How long a probe holds a half-open breaker before another caller may probe.
    probe_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BreakerConfig:
        return cls(
            failure_threshold=settings.circuit_failure_threshold,
            volume_threshold=settings.circuit_volume_threshold,
            failure_ratio=settings.circuit_failure_ratio,
            open_seconds=settings.circuit_timeout,
            window_seconds=settings.circuit_window,
            probe_seconds=settings.openrouter_timeout + 5.0,
        )

    @property
    def bucket_ms(self) -> int:
        return max(1, int(self.window_seconds * 1000 / WINDOW_BUCKETS))


@dataclass(frozen=True)
class Permit:
    """The breaker's answer to one caller."""

    allowed: bool
    probe: bool = False
    # Rejected: seconds until a probe may go (for a breaker opened by an operator,
    # the open timeout, since nobody knows when it will be reset).
    retry_after_s: float = 0.0


@dataclass(frozen=True)
class BreakerStatus:
    """A breaker as it stands now, for status views."""

    service: str
    state: BreakerState
    failures: int  # in the rolling window
    successes: int  # in the rolling window
    opened_at: datetime | None
    retry_after_s: float  # until a probe may go; 0 when CLOSED
    forced: bool  # opened by an operator: stays open until reset
    consecutive_failures: int

    @property
    def volume(self) -> int:
        return self.failures + self.successes


class CircuitBreakerStore:
    """Every service's breaker; the methods the executor, handlers and monitor call."""

    def __init__(
        self, client: Redis, config: BreakerConfig | None = None, prefix: str = ""
    ) -> None:
        self.client = client
        self.config = config or BreakerConfig()
        self.prefix = prefix
        self.keys = ProviderKeys(prefix)
        # The breaker_*.lua scripts (each with lua/breaker_common.lua).
        self._scripts = Scripts(client)

    async def acquire(self, service: str) -> Permit:
        """May a call go now? At most one caller cluster-wide gets a probe permit."""
        verdict, wait_ms = await self._scripts["breaker_acquire"](
            keys=[self.keys.circuit_breaker(service), self.keys.circuit_breakers],
            args=[self.prefix, service, int(self.config.probe_seconds * 1000)],
        )
        verdict = _text(verdict)
        if verdict == "reject":
            wait_s = self.config.open_seconds if int(wait_ms) < 0 else int(wait_ms) / 1000
            return Permit(allowed=False, retry_after_s=wait_s)
        return Permit(allowed=True, probe=verdict == "probe")

    async def record_success(self, service: str, permit: Permit) -> BreakerState:
        return await self._record(service, permit, "success")

    async def record_failure(self, service: str, permit: Permit) -> BreakerState:
        return await self._record(service, permit, "failure")

    async def _record(self, service: str, permit: Permit, outcome: str) -> BreakerState:
        c = self.config
        state = await self._scripts["breaker_record"](
            keys=[self.keys.circuit_breaker(service)],
            args=[
                self.prefix, outcome, "1" if permit.probe else "0",
                c.failure_threshold, c.volume_threshold, c.failure_ratio,
                c.bucket_ms, WINDOW_BUCKETS, int(c.open_seconds * 1000),
            ],
        )  # fmt: skip
        return BreakerState(_text(state))

    async def reset(self, service: str) -> BreakerStatus:
        """Close the breaker and clear its counts (an operator's reset)."""
        await self._admin("reset", service)
        return await self.state(service)

    async def open(self, service: str) -> BreakerStatus:
        """Open the breaker until the next reset: calls to the service stop cluster-wide."""
        await self._admin("open", service)
        return await self.state(service)

    async def _admin(self, action: str, service: str) -> None:
        await self._scripts["breaker_admin"](
            keys=[self.keys.circuit_breaker(service), self.keys.circuit_breakers],
            args=[self.prefix, action, service, WINDOW_BUCKETS],
        )

    async def services(self) -> list[str]:
        """Names of every service that has a breaker."""
        return sorted(
            _text(name) for name in await self.client.smembers(self.keys.circuit_breakers)
        )

    async def state(self, service: str) -> BreakerStatus:
        return (await self._read([service]))[service]

    async def all_states(self) -> dict[str, BreakerStatus]:
        """Every known breaker (the services a call or an operator has touched)."""
        return await self._read(await self.services())

    async def _read(self, services: list[str]) -> dict[str, BreakerStatus]:
        if not services:
            return {}
        rows = await self._scripts["breaker_read"](
            keys=[self.keys.circuit_breaker(s) for s in services],
            args=[self.prefix, self.config.bucket_ms, WINDOW_BUCKETS],
        )
        return {service: _status(service, row) for service, row in zip(services, rows, strict=True)}


def _status(service: str, row: list[bytes | int]) -> BreakerStatus:
    state, failures, successes, opened_at, wait_ms, forced, consecutive, _exists = row
    opened = _text(opened_at)
    wait = int(wait_ms)
    return BreakerStatus(
        service=service,
        state=BreakerState(_text(state)),
        failures=int(failures),
        successes=int(successes),
        opened_at=datetime.fromisoformat(opened) if opened else None,
        retry_after_s=-1.0 if wait < 0 else wait / 1000,
        forced=_text(forced) == "1",
        consecutive_failures=int(consecutive),
    )
