"""What `taskflow status`, `queues` and `workers` print: rich renderables built
from the services' answers (nothing here talks gRPC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from taskflow.v1 import enums_pb2, monitor_service_pb2

STATES = ("pending", "active", "completed", "failed", "scheduled", "dlq", "cancelled")
QUEUES = ("primary", "retry", "scheduled", "dlq")
BREAKER_STYLE = {"CLOSED": "green", "HALF_OPEN": "yellow", "OPEN": "red"}


@dataclass(frozen=True)
class Snapshot:
    queues: monitor_service_pb2.GetQueueStatusResponse
    workers: monitor_service_pb2.ListWorkersResponse
    paused: bool | None  # None: the executor could not be asked


def render(snapshot: Snapshot) -> RenderableType:
    parts: list[RenderableType] = [pause_line(snapshot.paused)]
    if snapshot.queues.corrupt_tasks:
        parts.append(corrupt_line(snapshot.queues.corrupt_tasks))
    parts += [queue_table(snapshot.queues), named_queue_table(snapshot.queues)]
    parts.append(state_table(snapshot.queues))
    parts.append(workers_table(snapshot.workers))
    return Group(*parts)


def pause_line(paused: bool | None) -> Text:
    if paused is None:
        return Text("Executors: unknown (the executor service is unreachable)", style="yellow")
    if paused:
        return Text(
            "Executors: PAUSED: nothing new is claimed until `taskflow resume`",
            style="bold yellow",
        )
    return Text("Executors: running", style="green")


def corrupt_line(count: int) -> Text:
    return Text(
        f"Corrupt: {count} set aside (their stored task is unreadable): taskflow tasks corrupt",
        style="bold red",
    )


def queue_table(status: monitor_service_pb2.GetQueueStatusResponse) -> Table:
    # Every row, zeros included: proto3 leaves zero fields out of ListFields().
    table = Table(title="Queues", title_justify="left")
    table.add_column("queue", style="bold")
    table.add_column("depth", justify="right")
    for queue in QUEUES:
        table.add_row(queue, str(getattr(status.queues, queue)))
    table.caption = f"retry ratio {status.retry_ratio:g}"
    return table


def named_queue_table(status: monitor_service_pb2.GetQueueStatusResponse) -> Table:
    """One row per named queue: its depths, waiting tasks per type, pause, workers."""
    table = Table(title="Named queues", title_justify="left")
    for column in ("queue", "primary", "retry", "waiting", "state", "workers"):
        table.add_column(column, justify="right" if column in ("primary", "retry") else "left")
    for queue in status.named_queues:
        levels = ", ".join(f"p{p}: {n}" for p, n in sorted(queue.primary_by_priority.items()))
        waiting = ", ".join(f"{t}: {n}" for t, n in sorted(queue.waiting.items()))
        table.add_row(
            Text(queue.name, style="bold"),
            f"{queue.primary} ({levels})"
            if len(queue.primary_by_priority) > 1
            else str(queue.primary),
            str(queue.retry),
            Text(waiting, style="yellow") if waiting else "",
            Text("PAUSED", style="bold yellow") if queue.paused else Text("active", style="green"),
            str(len(queue.workers)),
        )
    table.caption = "waiting: PENDING tasks no running worker of the queue has a handler for"
    return table


def state_table(status: monitor_service_pb2.GetQueueStatusResponse) -> Table:
    table = Table(title="Tasks by state", title_justify="left")
    table.add_column("state", style="bold")
    table.add_column("tasks", justify="right")
    for state in STATES:
        table.add_row(state.upper(), str(getattr(status.states, state)))
    return table


def workers_table(workers: monitor_service_pb2.ListWorkersResponse) -> Table:
    table = Table(
        title=(
            f"Workers: {workers.total_workers} "
            f"({workers.healthy_workers} healthy, {workers.stale_workers} stale)"
        ),
        title_justify="left",
    )
    columns = ("worker", "host", "pid", "health", "active", "done", "failed", "up since", "seen")
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("worker", "host", "health") else "right"
        )
    for worker in sorted(workers.worker_details, key=lambda w: w.worker_id):
        healthy = worker.status == enums_pb2.WORKER_HEALTH_HEALTHY
        table.add_row(
            worker.worker_id,
            worker.hostname,
            str(worker.pid) if worker.pid else "",
            Text("healthy" if healthy else "stale", style="green" if healthy else "red"),
            f"{len(worker.active_task_ids)}/{worker.concurrency}",
            str(worker.success_count),
            str(worker.failure_count),
            when(worker.started_at),
            f"{worker.seconds_since_heartbeat:.0f} s ago",
        )
    breakers = [
        Text.assemble((name, "bold"), " ", _breaker_text(workers.circuit_breaker_states[name]))
        for name in sorted(workers.circuit_breaker_states)
    ]
    if breakers:
        table.caption = Text("circuit breakers: ").append(Text(", ").join(breakers))
    return table


def when(stamp: Timestamp) -> str:
    """A timestamp as UTC seconds, or empty when unset."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return stamp.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(stamp: Timestamp, now: datetime) -> str:
    """How long before `now` a timestamp was, e.g. `3.2 s`."""
    if not stamp.seconds and not stamp.nanos:
        return ""
    return f"{(now - stamp.ToDatetime(tzinfo=UTC)).total_seconds():.1f} s"


def _breaker_text(state: enums_pb2.CircuitState.ValueType) -> Text:
    name = enums_pb2.CircuitState.Name(state).removeprefix("CIRCUIT_STATE_")
    name = "UNUSED" if name == "UNSPECIFIED" else name
    return Text(name, style=BREAKER_STYLE.get(name, "dim"))
