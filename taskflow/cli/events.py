"""`taskflow events`: a live tail of task events (the monitor's WatchQueues stream),
filtered by type, state or id prefix."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC
from typing import Annotated, Any

import grpc
import typer

from taskflow.cli.common import JsonOption, out, parse_state, print_json, run, state_name
from taskflow.client import Clients
from taskflow.v1 import enums_pb2, monitor_service_pb2, scheduler_service_pb2

NO_STATE = enums_pb2.TASK_STATE_UNSPECIFIED


@dataclass(frozen=True)
class Event:
    at: str
    kind: str  # created, state_changed, deleted
    task_id: str
    old_state: enums_pb2.TaskState.ValueType
    new_state: enums_pb2.TaskState.ValueType
    task_type: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "event": self.kind,
            "task_id": self.task_id,
            "task_type": self.task_type,
            "old_state": state_name(self.old_state) if self.old_state else None,
            "new_state": state_name(self.new_state) if self.new_state else None,
        }

    def line(self) -> str:
        old, new = state_name(self.old_state), state_name(self.new_state)
        change = {"created": new, "deleted": f"deleted (was {old})"}.get(self.kind)
        return f"{self.at} {self.task_id} {self.task_type or '-'} {change or f'{old} -> {new}'}"


@dataclass
class Filter:
    task_type: str
    state: enums_pb2.TaskState.ValueType
    id_prefix: str
    types: dict[str, str] = field(default_factory=dict)  # task id -> type, as learnt

    async def passes(self, event: Event, clients: Clients) -> Event | None:
        """The event, its type filled in when known, if it passes every filter."""
        if not event.task_id.startswith(self.id_prefix):
            return None
        if self.state and self.state not in (event.new_state, event.old_state):
            return None
        if event.task_type:
            self.types[event.task_id] = event.task_type
        elif self.task_type and event.task_id not in self.types:
            self.types[event.task_id] = await _type_of(clients, event.task_id)
        task_type = self.types.get(event.task_id, "")
        if event.kind == "deleted":
            self.types.pop(event.task_id, None)
        if self.task_type and task_type != self.task_type:
            return None
        return dataclasses.replace(event, task_type=task_type)


def events(
    task_type: Annotated[str, typer.Option("--type", help="Only tasks of this type.")] = "",
    state: Annotated[
        str | None, typer.Option(help="Only events entering or leaving this state.")
    ] = None,
    task_id: Annotated[str, typer.Option(help="Only tasks whose id starts with this.")] = "",
    limit: Annotated[int, typer.Option(min=0, help="Stop after this many events (0: never).")] = 0,
    json: JsonOption = False,
) -> None:
    """Print task events as they happen (created, state changes, deleted) until Ctrl-C."""
    wanted = Filter(task_type, parse_state(state), task_id.lower())

    async def command(clients: Clients) -> None:
        shown = 0
        stream = clients.monitor.WatchQueues(
            monitor_service_pb2.WatchQueuesRequest(), metadata=clients.metadata
        )
        async for response in stream:
            event = _event(response)
            if event is None or (event := await wanted.passes(event, clients)) is None:
                continue
            if json:
                print_json(event.as_json())
            else:
                out.print(event.line(), soft_wrap=True)
            shown += 1
            if limit and shown >= limit:
                stream.cancel()
                return

    run(command)


def _event(response: monitor_service_pb2.WatchQueuesResponse) -> Event | None:
    at = response.timestamp.ToDatetime(tzinfo=UTC).isoformat(timespec="milliseconds")
    kind = response.WhichOneof("event")
    if kind == "task_created":
        created = response.task_created
        pending = enums_pb2.TASK_STATE_PENDING
        return Event(at, "created", created.task_id, NO_STATE, pending, created.task_type)
    if kind == "task_state_changed":
        changed = response.task_state_changed
        return Event(at, "state_changed", changed.task_id, changed.old_state, changed.new_state)
    if kind == "task_deleted":
        deleted = response.task_deleted
        return Event(at, "deleted", deleted.task_id, deleted.old_state, NO_STATE)
    return None  # the first snapshot and heartbeats


async def _type_of(clients: Clients, task_id: str) -> str:
    request = scheduler_service_pb2.GetTaskRequest(task_id=task_id)
    try:
        return (await clients.scheduler.GetTask(request, metadata=clients.metadata)).task.task_type
    except grpc.aio.AioRpcError as error:
        if error.code() is grpc.StatusCode.NOT_FOUND:
            return ""
        raise
