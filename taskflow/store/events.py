"""Typed events from the `queue-updates` channel (contract §5).

The Lua scripts publish one JSON event per change, each carrying the queue depths
and state counts as they stand right after the script call that made it
(lua/_prelude.lua, `finish`):

    async with subscribe(client, keys) as events:
        async for event in events:  # QueueEvent, malformed messages skipped
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from taskflow.store.keys import Keys
from taskflow.store.models import QueueDepths, TaskState

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT_S = 5.0


class EventKind(StrEnum):
    CREATED = "task_created"
    STATE_CHANGED = "task_state_changed"
    DELETED = "task_deleted"
    # Only in the events stream (not on the channel): a running task's progress,
    # and a batch of its log lines (taskflow/store/task_logs.py).
    PROGRESS = "task_progress"
    LOGS = "task_logs"
    # On the channel too, but no counts change: task watches only (the task shows it).
    CANCEL_REQUESTED = "task_cancel_requested"


KNOWN_KINDS = frozenset(kind.value for kind in EventKind)


@dataclass(frozen=True)
class QueueEvent:
    """One change, with the whole system's counts right after it."""

    kind: EventKind
    task_id: str
    task_type: str
    old_state: TaskState | None  # None for task_created
    new_state: TaskState | None  # None for task_deleted
    queue_depths: QueueDepths
    state_counts: dict[TaskState, int]
    timestamp: datetime | None  # Redis server clock
    event_id: str = ""  # its id in the events stream; empty when read from the channel
    fraction: float | None = None  # task_progress only
    message: str = ""  # task_progress only


def parse_event(raw: bytes | str, event_id: str = "") -> QueueEvent | None:
    """The event in one published message; None for one this version does not know."""
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("event=malformed_event data=%r", raw[:200])
        return None
    return event_from(data, event_id)


def event_from(data: Any, event_id: str = "") -> QueueEvent | None:
    """The event of one decoded JSON object; None for one this version does not know."""
    try:
        if data.get("type") not in KNOWN_KINDS:
            return None  # a kind of a newer version: nothing to relay
        return QueueEvent(
            kind=EventKind(data["type"]),
            task_id=str(data["task_id"]),
            task_type=str(data.get("task_type", "")),
            old_state=_state(data.get("old_state")),
            new_state=_state(data.get("new_state")),
            queue_depths=_depths(data.get("queue_depths") or {}),
            state_counts=_counts(data.get("state_counts") or {}),
            timestamp=datetime.fromisoformat(data["timestamp"]) if data.get("timestamp") else None,
            event_id=event_id,
            fraction=float(data["fraction"]) if "fraction" in data else None,
            message=str(data.get("message", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("event=malformed_event data=%r", str(data)[:200])
        return None


class SubscriptionInterrupted(ConnectionError):
    """The connection dropped: events published meanwhile were lost."""


class Subscription:
    """An open subscription to the channel; iterate it for events.

    The iteration raises (SubscriptionInterrupted or the client's ConnectionError)
    whenever events may have been lost, never silently resumes after a gap.
    """

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[QueueEvent]:
        async for message in self._pubsub.listen():
            kind = message.get("type")
            if kind == "subscribe":  # the client reconnected and resubscribed by itself
                raise SubscriptionInterrupted("resubscribed after a dropped connection")
            if kind != "message":
                continue
            event = parse_event(message["data"])
            if event is not None:
                yield event


@contextlib.asynccontextmanager
async def subscribe(client: Redis, keys: Keys) -> AsyncIterator[Subscription]:
    """Subscribed on entry: every event published after that is delivered."""
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(keys.channel)
        await _confirmed(pubsub)
        yield Subscription(pubsub)
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone already
            await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _confirmed(pubsub: PubSub) -> None:
    """Wait until Redis acknowledges the subscription: from then on nothing is missed."""
    async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
        while True:
            message = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
            if message is not None and message.get("type") == "subscribe":
                return


def _state(name: Any) -> TaskState | None:
    return TaskState(name) if name else None


def _depths(raw: Mapping[str, Any]) -> QueueDepths:
    return QueueDepths(
        primary=int(raw.get("primary", 0)),
        retry=int(raw.get("retry", 0)),
        scheduled=int(raw.get("scheduled", 0)),
        dlq=int(raw.get("dlq", 0)),
    )


def _counts(raw: Mapping[str, Any]) -> dict[TaskState, int]:
    return {state: int(raw.get(state.value, 0)) for state in TaskState}
