"""Server-sent events from the monitor's gRPC streams (contract §5).

The gateway only translates: each WatchQueues / WatchTask message becomes one
`data: {json}` event, with an `id:` line holding its event id (the events
stream's); a client reconnecting with `Last-Event-ID` resumes after it. The
first message is read before the response starts, so a stream that cannot start
(unknown task, monitor down) is an ordinary HTTP error; trouble after that
becomes a final `{"type": "error"}` event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi.sse import EventSourceResponse
from grpc import aio

from services.gateway import shapes
from services.gateway.errors import http_error
from taskflow.v1 import monitor_service_pb2 as monitor_pb

log = logging.getLogger(__name__)
Message = TypeVar("Message")
Json = dict[str, Any]
# Proxies (nginx) must not buffer the stream.
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# The queue stream is readable from any origin, as the original's was (seed-compat 10).
QUEUE_HEADERS = {**HEADERS, "Access-Control-Allow-Origin": "*"}
# For /docs: the routes return the stream themselves, after its first message.
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events, each `data: {json}`",
        "content": {"text/event-stream": {}},
    }
}


def encode(event: Json, event_id: str = "") -> str:
    """One SSE event; the `id:` line after the `data:` one (any order is valid SSE,
    and a client reading the first line of an event still finds the data there)."""
    data = f"data: {json.dumps(event, separators=(',', ':'))}\n"
    return f"{data}id: {event_id}\n\n" if event_id else f"{data}\n"


def queue_event(message: monitor_pb.WatchQueuesResponse) -> Json | None:
    """One queue watch message as the contract's event; None for kinds we skip."""
    kind = message.WhichOneof("event")
    stamp = shapes.iso(message, "timestamp") or datetime.now(UTC).isoformat()
    if kind == "initial_status":
        initial = message.initial_status
        event: Json = {
            "type": "initial_status",
            "queue_depths": shapes.depths(initial.queue_depths),
            "state_counts": shapes.counts(initial.state_counts),
            "retry_ratio": initial.retry_ratio,
            "timestamp": stamp,
            "named_queues": shapes.named_queues(initial.named_queues),  # ours, an addition
            "corrupt_tasks": initial.corrupt_tasks,  # ours, an addition (seed-compat)
        }
        if initial.missed_events:  # resumed too late: this snapshot replaces them
            event["missed_events"] = True
        return event
    if kind == "task_created":
        created = message.task_created
        return {
            "type": "task_created",
            "task_id": created.task_id,
            "task_type": created.task_type,
            "queue_depths": shapes.depths(created.queue_depths),
            "state_counts": shapes.counts(created.state_counts),
            "retry_ratio": created.retry_ratio,
            "timestamp": stamp,
        }
    if kind == "task_state_changed":
        changed = message.task_state_changed
        return {
            "type": "task_state_changed",
            "task_id": changed.task_id,
            "old_state": shapes.state_name(changed.old_state),
            "new_state": shapes.state_name(changed.new_state),
            "queue_depths": shapes.depths(changed.queue_depths),
            "state_counts": shapes.counts(changed.state_counts),
            "retry_ratio": changed.retry_ratio,
            "timestamp": stamp,
        }
    if kind == "task_deleted":
        deleted = message.task_deleted
        return {
            "type": "task_deleted",
            "task_id": deleted.task_id,
            "old_state": shapes.state_name(deleted.old_state),
            "queue_depths": shapes.depths(deleted.queue_depths),
            "state_counts": shapes.counts(deleted.state_counts),
            "retry_ratio": deleted.retry_ratio,
            "timestamp": stamp,
        }
    if kind == "task_progress":  # ours; the original's clients skip unknown types
        progress = message.task_progress
        return {
            "type": "task_progress",
            "task_id": progress.task_id,
            "task_type": progress.task_type,
            "progress": progress.fraction,
            "progress_message": progress.message,
            "timestamp": stamp,
        }
    if kind == "task_cancel_requested":  # ours; the task stays ACTIVE until it stops
        requested = message.task_cancel_requested
        return {
            "type": "task_cancel_requested",
            "task_id": requested.task_id,
            "task_type": requested.task_type,
            "queue_depths": shapes.depths(requested.queue_depths),
            "state_counts": shapes.counts(requested.state_counts),
            "retry_ratio": requested.retry_ratio,
            "timestamp": stamp,
        }
    if kind == "heartbeat":
        return {"type": "heartbeat", "timestamp": stamp}
    return None


def task_event(message: monitor_pb.WatchTaskResponse) -> Json:
    if message.deleted:
        return {"type": "deleted", "task_id": message.task.task_id, "deleted": True}
    event: Json = {
        "type": "task",
        "task": shapes.task_detail(message.task),
        "old_state": shapes.state_name(message.old_state),
    }
    if message.missed_events:  # resumed too late: events of the stream were lost
        event["missed_events"] = True
    if message.log_lines:  # asked for with ?logs=true
        event["log_lines"] = [shapes.log_line(line) for line in message.log_lines]
    return event


def event_id(message: Any) -> str:
    """The event id a watch message carries (empty if none)."""
    return str(getattr(message, "event_id", ""))


async def open_stream(
    call: aio.UnaryStreamCall[Any, Message], translate: Callable[[Message], Json | None]
) -> EventSourceResponse:
    """Read the first message (a failure raises, for the HTTP error handlers), then
    relay the rest as events."""
    messages = aiter(call)
    try:
        first = await anext(messages)
    except BaseException:
        call.cancel()
        raise
    return EventSourceResponse(_relay(first, messages, call, translate), headers=HEADERS)


async def _relay(
    first: Message,
    rest: AsyncIterator[Message],
    call: aio.UnaryStreamCall[Any, Message],
    translate: Callable[[Message], Json | None],
) -> AsyncIterator[str]:
    try:
        if (event := translate(first)) is not None:
            yield encode(event, event_id(first))
        async for message in rest:
            if (event := translate(message)) is not None:
                yield encode(event, event_id(message))
    except aio.AioRpcError as error:
        _, text = http_error(error)
        yield encode({"type": "error", "message": text})
    finally:
        call.cancel()
