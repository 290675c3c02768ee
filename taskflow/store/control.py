"""Cluster-wide executor control: pausing and resuming claiming for every worker."""

from __future__ import annotations

from redis.asyncio import Redis

from taskflow.store.keys import Keys


class ExecutorControl:
    """A flag every executor reads; set here, it holds across restarts until cleared."""

    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def pause(self) -> None:
        await self.client.set(self.keys.executors_paused, "1")

    async def resume(self) -> None:
        await self.client.delete(self.keys.executors_paused)

    async def is_paused(self) -> bool:
        return bool(await self.client.exists(self.keys.executors_paused))
