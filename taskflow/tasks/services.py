"""What the executor hands to every handler as `TaskContext.services`.

Built once per executor process from its settings and its Redis client, so
handlers share connection pools (HTTP to the provider, Redis) instead of opening
their own.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from taskflow.settings import Settings


async def build_task_services(settings: Settings, client: Redis) -> dict[str, Any]:
    """The shared services handlers may use; closed by `close_task_services`."""
    return {}


async def close_task_services(services: dict[str, Any]) -> None:
    """Release what `build_task_services` opened."""
