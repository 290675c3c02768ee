"""System health (contract §4 `/health`): each component's status, overall the worst."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum

from redis.asyncio import Redis

from services.monitor.workers import WorkersView
from taskflow.store.breaker import BreakerState


class Health(IntEnum):
    """Ordered so the worst of several is their max."""

    HEALTHY = 1
    DEGRADED = 2
    UNHEALTHY = 3


@dataclass(frozen=True)
class Component:
    status: Health
    message: str


@dataclass(frozen=True)
class SystemHealth:
    components: dict[str, Component]

    @property
    def status(self) -> Health:
        return max(c.status for c in self.components.values())


async def system_health(
    client: Redis, workers: Callable[[], Awaitable[WorkersView]]
) -> SystemHealth:
    """Redis first: when it does not answer, nothing else can be read."""
    try:
        await client.ping()
        view = await workers()
    except Exception as exc:  # Redis down: report it, do not fail the call
        reason = type(exc).__name__
        return SystemHealth({"redis": Component(Health.UNHEALTHY, f"no answer ({reason})")})
    return SystemHealth(
        {
            "redis": Component(Health.HEALTHY, "answers"),
            "workers": _workers(view),
            "circuit_breaker": _breaker(view.provider_breaker),
        }
    )


def _workers(view: WorkersView) -> Component:
    message = f"{view.healthy_count} of {len(view.workers)} workers heartbeating"
    return Component(Health.HEALTHY if view.all_healthy else Health.DEGRADED, message)


def _breaker(state: BreakerState) -> Component:
    if state is BreakerState.CLOSED:
        return Component(Health.HEALTHY, "provider breaker closed")
    return Component(Health.DEGRADED, f"provider breaker {state.value}: provider calls held")
