"""The queue SSE stream (contract §5): one WatchQueues call per gateway, shared.

With a gRPC stream per browser, every event cost the monitor a message and the
gateway a translation and a JSON encoding per connected client. Here the gateway
holds one stream per set of credentials, encodes each event once, and hands the
same text to every client.

Each event that moves the figures is followed, in the same write, by a
`queue_update` event holding them (what the original dashboard listens for).

A client first gets an `initial_status` built from the shared view: the last
snapshot, moved on by the depths, counts and retry ratio that every event carries.
So what a joining client is shown first is exactly as current as what the others
have been sent, and what follows it is what came after. A client too slow to keep
up loses its backlog and gets a fresh `initial_status` of the view instead (the
last state it shows stays exact). The upstream call opens with the first client
and ends after the last one leaves; if it fails, each client gets a final `error`
event, and the next client to arrive opens a new one.

Every event goes with an `id:` (its id in the events stream). A client that
reconnects with `Last-Event-ID` gets a call of its own resuming after that id:
a `heartbeat` first, then what it missed, then the live events; or, when the
stream no longer holds them, an `initial_status` marked `missed_events`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException
from grpc import aio

from services.gateway.batching import Metadata
from services.gateway.errors import http_error
from services.gateway.sse import encode, queue_event
from taskflow.v1 import monitor_service_pb2 as monitor_pb

Json = dict[str, Any]
# (credentials, event id to resume after or "") -> the upstream WatchQueues call
OpenWatch = Callable[[Metadata, str], aio.UnaryStreamCall[Any, monitor_pb.WatchQueuesResponse]]
# Events a client may fall behind by before its backlog is replaced by a snapshot.
CLIENT_BACKLOG = 1000
# Events carry these absolute figures; the view takes them from each one (the
# named queues' depths and the corrupt count come with snapshots only: as of the
# last one).
CARRIED = ("queue_depths", "state_counts", "retry_ratio", "named_queues", "corrupt_tasks")


@dataclass
class View:
    """The system as of the last event sent: what a joining client starts from."""

    figures: Json = field(default_factory=dict)
    last_id: str = ""  # the newest event the figures include

    def apply(self, event: Json, event_id: str = "") -> None:
        self.figures.update({name: event[name] for name in CARRIED if name in event})
        self.last_id = event_id or self.last_id

    def initial_status(self) -> str:
        stamp = datetime.now(UTC).isoformat()
        event = {"type": "initial_status", **self.figures, "timestamp": stamp}
        return encode(event, self.last_id)

    def relay(self, message: monitor_pb.WatchQueuesResponse) -> str | None:
        """The SSE text of one upstream message (None for kinds skipped), the view
        moved on by it; an event that moves the figures is followed by its
        `queue_update` in the same write (no extra queueing)."""
        event = queue_event(message)
        if event is None:
            return None
        self.apply(event, message.event_id)
        text = encode(event, message.event_id)
        if "queue_depths" in event:
            text += self.queue_update(event)
        return text

    def queue_update(self, event: Json) -> str:
        """The original dashboard's event (seed-compat 10): the figures after `event`."""
        return encode({"type": "queue_update", **self.figures, "timestamp": event["timestamp"]})


class Listener:
    """One client's queue of encoded events; None ends it."""

    def __init__(self, backlog: int) -> None:
        self.events: asyncio.Queue[str | None] = asyncio.Queue(backlog)

    def offer(self, text: str | None, view: View) -> None:
        try:
            self.events.put_nowait(text)
        except asyncio.QueueFull:
            while not self.events.empty():
                self.events.get_nowait()
            self.events.put_nowait(view.initial_status() if text is not None else None)


class SharedWatch:
    """One upstream WatchQueues call and the clients listening to it."""

    def __init__(self, open_watch: OpenWatch, metadata: Metadata, backlog: int) -> None:
        self.open_watch = open_watch
        self.metadata = metadata
        self.backlog = backlog
        self.view = View()
        self.listeners: set[Listener] = set()
        self.waiting = 0  # clients waiting for the first message
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._relay())
        self.task.add_done_callback(self._consume_ready_error)

    async def _relay(self) -> None:
        call = self.open_watch(self.metadata, "")
        try:
            async for message in call:
                text = self.view.relay(message)
                if text is None:
                    continue
                if not self.ready.done():
                    self.ready.set_result(None)  # the first message is the snapshot
                    continue
                self._broadcast(text)
        except aio.AioRpcError as error:
            if not self.ready.done():
                self.ready.set_exception(error)
                return
            _, text = http_error(error)
            self._broadcast(encode({"type": "error", "message": text}))
        finally:
            call.cancel()
            if not self.ready.done():
                self.ready.set_exception(HTTPException(503, "the monitor's stream ended"))
            self._broadcast(None)

    def _broadcast(self, text: str | None) -> None:
        for listener in self.listeners:
            listener.offer(text, self.view)

    def join(self) -> Listener:
        listener = Listener(self.backlog)
        listener.offer(self.view.initial_status(), self.view)
        self.listeners.add(listener)
        return listener

    @staticmethod
    def _consume_ready_error(task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            task.exception()  # an error here reached the clients as an event


class QueueStreams:
    """The gateway's shared watches, one per set of credentials (without auth: one)."""

    def __init__(self, open_watch: OpenWatch, backlog: int = CLIENT_BACKLOG) -> None:
        self.open_watch = open_watch
        self.backlog = backlog
        self.watches: dict[Metadata, SharedWatch] = {}

    async def open(self, metadata: Metadata) -> AsyncGenerator[str, None]:
        """The client's events, first the initial status. Raises the upstream
        gRPC error when the watch cannot start (for the HTTP error handlers)."""
        watch = self.watches.get(metadata)
        if watch is None or watch.task.done():
            watch = self.watches[metadata] = SharedWatch(self.open_watch, metadata, self.backlog)
        watch.waiting += 1
        try:
            await asyncio.shield(watch.ready)
        except BaseException:
            watch.waiting -= 1
            self._drop_if_idle(watch)
            raise
        watch.waiting -= 1
        return self._listen(watch, watch.join())

    async def resume(self, metadata: Metadata, last_event_id: str) -> AsyncGenerator[str, None]:
        """A client's own stream resuming after `last_event_id`. Raises the upstream
        gRPC error when it cannot start (a malformed id is INVALID_ARGUMENT)."""
        call = self.open_watch(metadata, last_event_id)
        messages = aiter(call)
        try:
            first = await anext(messages)
        except BaseException:
            call.cancel()
            raise
        return self._resumed(call, first, messages)

    @staticmethod
    async def _resumed(
        call: aio.UnaryStreamCall[Any, monitor_pb.WatchQueuesResponse],
        first: monitor_pb.WatchQueuesResponse,
        rest: AsyncIterator[monitor_pb.WatchQueuesResponse],
    ) -> AsyncGenerator[str, None]:
        view = View()
        try:
            if (text := view.relay(first)) is not None:
                yield text
            async for message in rest:
                if (text := view.relay(message)) is not None:
                    yield text
        except aio.AioRpcError as error:
            _, message_text = http_error(error)
            yield encode({"type": "error", "message": message_text})
        finally:
            call.cancel()

    async def _listen(self, watch: SharedWatch, listener: Listener) -> AsyncGenerator[str, None]:
        try:
            while (text := await listener.events.get()) is not None:
                yield text
        finally:
            watch.listeners.discard(listener)
            self._drop_if_idle(watch)

    def _drop_if_idle(self, watch: SharedWatch) -> None:
        in_use = watch.listeners or watch.waiting
        if in_use and not watch.task.done():
            return
        if self.watches.get(watch.metadata) is watch:
            del self.watches[watch.metadata]
        watch.task.cancel()

    async def close(self) -> None:
        watches = list(self.watches.values())
        self.watches.clear()
        for watch in watches:
            watch.task.cancel()
        for watch in watches:
            with contextlib.suppress(asyncio.CancelledError):
                await watch.task
