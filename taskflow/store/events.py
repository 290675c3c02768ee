"""Live events from the `queue-updates` channel: one subscription per process,
fanned out to any number of watchers.

Each watcher has a bounded queue. A watcher too slow to keep up is not allowed to
hold the others back or grow without bound: its backlog is dropped and it is told
it lagged, so it can send a fresh snapshot instead (the last state it shows stays
exact).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from taskflow.store.keys import Keys

log = logging.getLogger(__name__)
WATCHER_BACKLOG = 1000
RECONNECT_S = 1.0


@dataclass(eq=False)  # identity, so watchers can live in a set
class Watcher:
    """One consumer's view of the stream."""

    events: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(WATCHER_BACKLOG)
    )
    lagged: bool = False

    async def next(self, timeout_s: float) -> dict[str, Any] | None:
        """The next event, or None after `timeout_s` of silence or when lagging."""
        if self.lagged:
            return None
        try:
            async with asyncio.timeout(timeout_s):
                return await self.events.get()
        except TimeoutError:
            return None

    def take_lag(self) -> bool:
        """True once after the watcher fell behind (its backlog is gone)."""
        lagged, self.lagged = self.lagged, False
        return lagged


class EventHub:
    """Reads the channel once and hands every event to every watcher."""

    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._watchers: set[Watcher] = set()
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator[Watcher]:
        """A watcher that receives every event published while it is open."""
        self._ensure_reader()
        watcher = Watcher()
        self._watchers.add(watcher)
        try:
            await self._subscribed.wait()
            yield watcher
        finally:
            self._watchers.discard(watcher)

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="event-hub")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.keys.channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._fan_out(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event=event_subscription_lost")
                # Everyone may have missed events meanwhile: resynchronise them.
                for watcher in self._watchers:
                    watcher.lagged = True
                await asyncio.sleep(RECONNECT_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _fan_out(self, raw: bytes | str) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning("event=malformed_event data=%r", raw[:200])
            return
        for watcher in self._watchers:
            if watcher.lagged:
                continue
            try:
                watcher.events.put_nowait(event)
            except asyncio.QueueFull:
                while not watcher.events.empty():
                    watcher.events.get_nowait()
                watcher.lagged = True
