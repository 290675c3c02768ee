"""What `taskflow status` prints: queues, task states, workers and breakers, as
rich renderables built from the monitor's answers (nothing here talks gRPC)."""

from __future__ import annotations

from dataclasses import dataclass

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


def render(snapshot: Snapshot) -> RenderableType:
    return Group(queue_table(snapshot.queues), workers_table(snapshot.workers))


def queue_table(status: monitor_service_pb2.GetQueueStatusResponse) -> Table:
    # Every row, zeros included: proto3 leaves zero fields out of ListFields().
    table = Table(title="Queues and tasks", title_justify="left")
    table.add_column("queue", style="bold")
    table.add_column("depth", justify="right")
    table.add_column("state", style="bold")
    table.add_column("tasks", justify="right")
    rows = max(len(QUEUES), len(STATES))
    for i in range(rows):
        queue = QUEUES[i] if i < len(QUEUES) else ""
        state = STATES[i] if i < len(STATES) else ""
        table.add_row(
            queue,
            str(getattr(status.queues, queue)) if queue else "",
            state.upper(),
            str(getattr(status.states, state)) if state else "",
        )
    table.caption = f"retry ratio {status.retry_ratio:g}"
    return table


def workers_table(workers: monitor_service_pb2.ListWorkersResponse) -> Table:
    table = Table(
        title=(
            f"Workers: {workers.total_workers} "
            f"({workers.healthy_workers} healthy, {workers.stale_workers} stale)"
        ),
        title_justify="left",
    )
    for column in ("worker", "health", "active", "done", "failed", "last seen"):
        table.add_column(column, justify="left" if column in ("worker", "health") else "right")
    for worker in sorted(workers.worker_details, key=lambda w: w.worker_id):
        healthy = worker.status == enums_pb2.WORKER_HEALTH_HEALTHY
        table.add_row(
            worker.worker_id,
            Text("healthy" if healthy else "stale", style="green" if healthy else "red"),
            f"{len(worker.active_task_ids)}/{worker.concurrency}",
            str(worker.success_count),
            str(worker.failure_count),
            f"{worker.seconds_since_heartbeat:.0f} s ago",
        )
    breakers = [
        Text.assemble((name, "bold"), " ", _breaker_text(workers.circuit_breaker_states[name]))
        for name in sorted(workers.circuit_breaker_states)
    ]
    if breakers:
        table.caption = Text("circuit breakers: ").append(Text(", ").join(breakers))
    return table


def _breaker_text(state: enums_pb2.CircuitState.ValueType) -> Text:
    name = enums_pb2.CircuitState.Name(state).removeprefix("CIRCUIT_STATE_")
    name = "UNUSED" if name == "UNSPECIFIED" else name
    return Text(name, style=BREAKER_STYLE.get(name, "dim"))
