"""What the executor hands to every handler as `TaskContext.services`.

Built once per executor process from its settings and its Redis client, so
handlers share connection pools (HTTP to the provider, Redis) instead of opening
their own. Handlers read them through `provider_of` and `settings_of`:

    provider = provider_of(ctx)   # None: no API key, use a local fallback
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from taskflow.provider.client import ChatClient, ProviderConfig
from taskflow.provider.guarded import Provider
from taskflow.settings import Settings
from taskflow.store.breaker import BreakerConfig, CircuitBreakerStore
from taskflow.store.provider_state import ProviderMetricsStore
from taskflow.store.rate_limit import RateLimiter
from taskflow.tasks.registry import TaskContext

SETTINGS = "settings"
PROVIDER = "provider"
BREAKERS = "breakers"
RATE_LIMITER = "rate_limiter"


async def build_task_services(settings: Settings, client: Redis) -> dict[str, Any]:
    """The shared services handlers may use; closed by `close_task_services`."""
    prefix = settings.key_prefix
    breakers = CircuitBreakerStore(client, BreakerConfig.from_settings(settings), prefix)
    limiter = RateLimiter(client, prefix)
    if settings.openrouter_rate_limit_requests:
        await limiter.configure(
            settings.openrouter_rate_limit_requests, settings.openrouter_rate_limit_interval
        )
    config = ProviderConfig.from_settings(settings)
    provider = None
    if config is not None:
        provider = Provider(
            ChatClient(config),
            breakers,
            limiter,
            ProviderMetricsStore(client, prefix),
            rate_limit_wait_s=settings.openrouter_rate_limit_wait,
        )
    return {SETTINGS: settings, PROVIDER: provider, BREAKERS: breakers, RATE_LIMITER: limiter}


async def close_task_services(services: dict[str, Any]) -> None:
    """Release what `build_task_services` opened."""
    provider = services.get(PROVIDER)
    if isinstance(provider, Provider):
        await provider.client.aclose()


def provider_of(ctx: TaskContext) -> Provider | None:
    """The provider, or None when no API key is configured (or no services were given)."""
    provider = ctx.services.get(PROVIDER)
    return provider if isinstance(provider, Provider) else None


def settings_of(ctx: TaskContext) -> Settings:
    settings = ctx.services.get(SETTINGS)
    return settings if isinstance(settings, Settings) else Settings()
