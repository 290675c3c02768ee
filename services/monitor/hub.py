"""One reader of the events stream per monitor process, fanned out to every watch.

The reader tails the stream (taskflow/store/event_stream.py) from the newest event
it has read, so a dropped Redis connection loses nothing unless the stream was
trimmed past that point meanwhile. A watch may ask to resume after an event id:
it is handed the kept events after it, then the live ones, none twice.

Each watcher has a bounded queue. A watcher too slow to keep up may not hold the
others back or grow without bound: its backlog is dropped and it is told it
lagged, so it sends a fresh snapshot instead (the last state it shows stays exact).

With no watch waiting for events the reader does not read: after a read, with no
watch open, it waits until a watch first asks for an event (Watcher.next), then
reads on from where it stopped (the events since, then live ones; a watch skips
those its snapshot already holds). An idle monitor so costs Redis and itself
nothing per event: a task created, claimed and completed while no one watches
used to wake it three times, on the two cores a create's reply and the executor's
claim compete for; and a task watch whose snapshot shows the task finished ends
without a stream read. If more than a page of entries came meanwhile, the reader
starts again from the newest event instead and the open watches resynchronise
from a snapshot (as after a lag).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis

from taskflow.errors import Unavailable
from taskflow.store import event_stream
from taskflow.store.event_stream import BEFORE_ANY, StreamId, parse_id
from taskflow.store.events import QueueEvent
from taskflow.store.keys import Keys

log = logging.getLogger(__name__)
WATCHER_BACKLOG = 1000
RECONNECT_S = 1.0
# How long one read of the stream blocks waiting for an event: well inside any
# client socket timeout (the tests' is 5 s), a cheap call a second when idle.
TAIL_BLOCK_MS = 1000
# How long a new watch waits for the shared subscription before giving up.
READY_TIMEOUT_S = 10.0


@dataclass(eq=False)  # identity, so watchers can live in a set
class Watcher:
    """One watch's view of the stream."""

    backlog: int = WATCHER_BACKLOG
    # None marks where events were lost; it wakes a watcher waiting for the next one.
    events: asyncio.Queue[QueueEvent | None] = field(init=False)
    lagged: bool = False
    # Live events up to this id were replayed already: skipped when they arrive.
    replayed_up_to: StreamId = BEFORE_ANY
    # The hub's: set when a watcher first waits for an event (the reader reads then).
    wanted: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.events = asyncio.Queue(self.backlog)

    async def next(self, timeout_s: float) -> QueueEvent | None:
        """The next event; None after `timeout_s` of silence, or at once when lagging."""
        self.wanted.set()
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if self.lagged:
                        return None
                    event = await self.events.get()
                    if event is None or not event.event_id:
                        return event
                    if parse_id(event.event_id) > self.replayed_up_to:
                        return event
        except TimeoutError:
            return None

    def take_lag(self) -> bool:
        """True once after events were lost to this watcher (its backlog is gone)."""
        lagged, self.lagged = self.lagged, False
        if lagged:
            while not self.events.empty():  # the marker, still unread if next() was not
                self.events.get_nowait()
        return lagged

    def overflow(self) -> None:
        """Drop the backlog: the watcher must resynchronise from a snapshot."""
        while not self.events.empty():
            self.events.get_nowait()
        self.lagged = True
        self.events.put_nowait(None)


class _Watch:
    """WatchHub.watch()'s context: a plain class, not an async generator (one
    per WatchTask call, which asynccontextmanager made cost twice as much)."""

    __slots__ = ("_hub", "_watcher")

    def __init__(self, hub: WatchHub) -> None:
        self._hub = hub
        self._watcher: Watcher | None = None

    async def __aenter__(self) -> Watcher:
        watcher = self._hub._open()
        try:
            await self._hub._ready_for()
        except BaseException:  # not ready in time, or cancelled while waiting
            self._hub._close(watcher)
            raise
        self._watcher = watcher
        return watcher

    async def __aexit__(self, *_: object) -> None:
        if self._watcher is not None:
            self._hub._close(self._watcher)


class WatchHub:
    """Reads the stream once and hands every event to every open watcher."""

    def __init__(self, client: Redis, keys: Keys, *, backlog: int = WATCHER_BACKLOG) -> None:
        self.client = client
        self.keys = keys
        self.backlog = backlog
        self._watchers: set[Watcher] = set()
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        # Set by a watch waiting for events, cleared when the last watch closes:
        # the reader reads only while it is set.
        self._wanted = asyncio.Event()
        self._paused = False

    @property
    def paused(self) -> bool:
        """The reader is waiting for a watch to want events (it reads nothing)."""
        return self._paused

    @property
    def watchers(self) -> int:
        """Open watches (a closed one is removed at once)."""
        return len(self._watchers)

    def watch(self) -> _Watch:
        """A watcher that receives every event published after it opened
        (`async with hub.watch() as watcher`)."""
        return _Watch(self)

    def _open(self) -> Watcher:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="watch-hub")
        watcher = Watcher(self.backlog, wanted=self._wanted)
        self._watchers.add(watcher)
        return watcher

    async def _ready_for(self) -> None:
        """Until the shared subscription reads; the usual case (it does) needs no
        timer nor await."""
        if self._ready.is_set():
            return
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self._ready.wait()
        except TimeoutError:
            raise Unavailable("the live event subscription is not ready") from None

    def _close(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        if not self._watchers:
            self._wanted.clear()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def replay(self, watcher: Watcher, after_id: str) -> AsyncIterator[QueueEvent]:
        """The kept events after `after_id` (the watcher then skips them live).

        Call inside `watch()` after checking `resumable`: live events buffer in the
        watcher meanwhile, and those already replayed are not handed out again.
        """
        async for event in event_stream.replay(self.client, self.keys, after_id):
            watcher.replayed_up_to = parse_id(event.event_id)
            yield event

    async def resumable(self, after_id: str) -> bool:
        """True when no event after `after_id` has been trimmed from the stream."""
        return await event_stream.retained_after(self.client, self.keys, after_id)

    async def latest_id(self) -> str:
        """Id of the newest event kept: where a snapshot taken now resumes from."""
        return await event_stream.latest_id(self.client, self.keys)

    async def _read(self) -> None:
        last: str | None = None
        while True:
            try:
                if last is None:
                    last = await event_stream.latest_id(self.client, self.keys)
                elif not await event_stream.retained_after(self.client, self.keys, last):
                    # trimmed past what was read: everyone resynchronises
                    last = await event_stream.latest_id(self.client, self.keys)
                    for watcher in self._watchers:
                        watcher.overflow()
                self._ready.set()
                while True:
                    last = await self._read_once(last)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event=event_stream_lost error=%s", type(exc).__name__)
            self._ready.clear()
            await asyncio.sleep(RECONNECT_S)

    async def _read_once(self, last: str) -> str:
        """One read of the stream after `last`, its events handed out; returns the
        id to read after next. With no watch open, it first waits for one."""
        if not self._wanted.is_set():
            self._paused = True
            try:
                await self._wanted.wait()
            finally:
                self._paused = False
            caught_up = await event_stream.catch_up(self.client, self.keys, last)
            if caught_up is None:
                # Too far behind (or trimmed past): from the newest on, and every
                # watch resynchronises from a snapshot read after that (as after a
                # lag), so none misses what lies between its snapshot and the newest.
                newest = await event_stream.latest_id(self.client, self.keys)
                for watcher in self._watchers:
                    watcher.overflow()
                return newest
            events, last = caught_up
        else:
            events, last = await event_stream.tail(
                self.client, self.keys, last, block_ms=TAIL_BLOCK_MS
            )
        for event in events:
            self._fan_out(event)
        return last

    def _fan_out(self, event: QueueEvent) -> None:
        for watcher in self._watchers:
            if watcher.lagged:
                continue
            try:
                watcher.events.put_nowait(event)
            except asyncio.QueueFull:
                watcher.overflow()
