"""A watch opened while the hub's subscription cannot read (Redis unreachable)
ends with Unavailable after the ready timeout, and leaves no watcher behind; once
the subscription reads, opening a watch waits for nothing."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from services.monitor import hub as hub_module
from services.monitor.hub import WatchHub
from taskflow.errors import Unavailable
from taskflow.redis_server import free_port
from taskflow.store import TaskStore
from tests.support.waiting import eventually


async def test_unreachable_subscription_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "READY_TIMEOUT_S", 0.5)
    client = Redis(port=free_port(), socket_connect_timeout=1)  # nothing listens there
    hub = WatchHub(client, TaskStore(client).keys)
    try:
        with pytest.raises(Unavailable):
            async with hub.watch():
                pytest.fail("a watch opened without a subscription")
        assert hub.watchers == 0
    finally:
        await hub.close()
        await client.aclose()


async def test_watch_opens_once_reading(redis_client: Redis, store: TaskStore) -> None:
    hub = WatchHub(redis_client, store.keys)
    try:
        async with hub.watch():
            assert hub.watchers == 1
        assert hub.watchers == 0

        async def paused() -> bool:
            return hub.paused

        await eventually(paused, what="the reader paused")
        async with hub.watch() as watcher, hub.watch():
            assert hub.watchers == 2
            assert await watcher.next(0.05) is None  # nothing published
        assert hub.watchers == 0
    finally:
        await hub.close()
