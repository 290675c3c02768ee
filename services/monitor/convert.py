"""Monitor values (events, workers view, health) -> MonitorService messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.monitor.health import SystemHealth
from services.monitor.workers import WorkersView, WorkerView
from taskflow.rpc import convert
from taskflow.store import QueueStatus, TaskState
from taskflow.store.events import EventKind, QueueEvent
from taskflow.store.queues import NamedQueueDepths
from taskflow.store.series import MinutePoint
from taskflow.v1 import enums_pb2
from taskflow.v1 import monitor_service_pb2 as pb

HEALTHY = enums_pb2.HEALTH_STATUS_HEALTHY
DEGRADED = enums_pb2.HEALTH_STATUS_DEGRADED


def now() -> timestamp_pb2.Timestamp | None:
    return convert.timestamp(datetime.now(UTC))


def initial(
    status: QueueStatus,
    event_id: str = "",
    *,
    missed_events: bool = False,
    queues: Sequence[NamedQueueDepths] = (),
) -> pb.WatchQueuesResponse:
    return pb.WatchQueuesResponse(
        timestamp=now(),
        initial_status=pb.InitialStatus(
            queue_depths=convert.depths_to_proto(status.queues),
            state_counts=convert.state_counts_to_proto(status.states),
            retry_ratio=status.retry_ratio,
            missed_events=missed_events,
            named_queues=named_queues(queues),
            corrupt_tasks=status.corrupt,
        ),
        event_id=event_id,
    )


def named_queues(queues: Sequence[NamedQueueDepths]) -> list[pb.NamedQueueStatus]:
    return [
        pb.NamedQueueStatus(
            name=q.name,
            primary=q.primary,
            primary_by_priority=q.primary_by_priority,
            retry=q.retry,
            waiting=q.waiting,
            paused=q.paused,
            workers=q.workers,
        )
        for q in queues
    ]


def heartbeat(event_id: str = "") -> pb.WatchQueuesResponse:
    return pb.WatchQueuesResponse(timestamp=now(), heartbeat=pb.Heartbeat(), event_id=event_id)


def event(event: QueueEvent, retry_ratio: float) -> pb.WatchQueuesResponse:
    depths = convert.depths_to_proto(event.queue_depths)
    counts = convert.state_counts_to_proto(event.state_counts)
    stamp = convert.timestamp(event.timestamp)
    if event.kind is EventKind.CREATED:
        created = pb.TaskCreated(
            task_id=event.task_id,
            task_type=event.task_type,
            queue_depths=depths,
            state_counts=counts,
            retry_ratio=retry_ratio,
        )
        return pb.WatchQueuesResponse(
            timestamp=stamp, task_created=created, event_id=event.event_id
        )
    if event.kind is EventKind.PROGRESS:
        progressed = pb.TaskProgressed(
            task_id=event.task_id,
            task_type=event.task_type,
            fraction=event.fraction or 0.0,
            message=event.message,
        )
        return pb.WatchQueuesResponse(
            timestamp=stamp, task_progress=progressed, event_id=event.event_id
        )
    if event.kind is EventKind.CANCEL_REQUESTED:
        requested = pb.TaskCancelRequested(
            task_id=event.task_id,
            task_type=event.task_type,
            queue_depths=depths,
            state_counts=counts,
            retry_ratio=retry_ratio,
        )
        return pb.WatchQueuesResponse(
            timestamp=stamp, task_cancel_requested=requested, event_id=event.event_id
        )
    if event.kind is EventKind.DELETED:
        deleted = pb.TaskDeleted(
            task_id=event.task_id,
            old_state=state(event.old_state),
            queue_depths=depths,
            state_counts=counts,
            retry_ratio=retry_ratio,
        )
        return pb.WatchQueuesResponse(
            timestamp=stamp, task_deleted=deleted, event_id=event.event_id
        )
    changed = pb.TaskStateChanged(
        task_id=event.task_id,
        old_state=state(event.old_state),
        new_state=state(event.new_state),
        queue_depths=depths,
        state_counts=counts,
        retry_ratio=retry_ratio,
    )
    return pb.WatchQueuesResponse(
        timestamp=stamp, task_state_changed=changed, event_id=event.event_id
    )


def state(value: TaskState | None) -> enums_pb2.TaskState.ValueType:
    return enums_pb2.TASK_STATE_UNSPECIFIED if value is None else convert.state_to_proto(value)


def workers(view: WorkersView) -> pb.ListWorkersResponse:
    shared = convert.circuit_state(view.provider_breaker)
    return pb.ListWorkersResponse(
        overall_status=(
            enums_pb2.HEALTH_STATUS_HEALTHY
            if view.all_healthy
            else enums_pb2.HEALTH_STATUS_DEGRADED
        ),
        total_workers=len(view.workers),
        healthy_workers=view.healthy_count,
        stale_workers=view.stale_count,
        circuit_breaker_states={n: convert.circuit_state(s) for n, s in view.breakers.items()},
        worker_details=[worker(w, shared) for w in view.workers],
        timestamp=now(),
    )


def worker(view: WorkerView, breaker: enums_pb2.CircuitState.ValueType) -> pb.WorkerDetail:
    record, stats = view.record, view.record.stats
    started = float(stats.get("started_at") or 0)
    return pb.WorkerDetail(
        worker_id=record.worker_id,
        status=enums_pb2.WORKER_HEALTH_HEALTHY if view.healthy else enums_pb2.WORKER_HEALTH_STALE,
        last_seen=convert.timestamp_from_unix(record.last_seen),
        seconds_since_heartbeat=view.seconds_since_heartbeat,
        circuit_breaker_state=breaker,
        success_count=int(stats.get("completed") or 0),
        failure_count=int(stats.get("failed") or 0),
        active_task_ids=record.active_tasks,
        hostname=stats.get("hostname", ""),
        pid=int(stats.get("pid") or 0),
        concurrency=int(stats.get("concurrency") or 0),
        started_at=convert.timestamp_from_unix(started) if started else None,
    )


def health(system: SystemHealth) -> pb.GetSystemHealthResponse:
    return pb.GetSystemHealthResponse(
        status=enums_pb2.HealthStatus.Value(f"HEALTH_STATUS_{system.status.name}"),
        components={
            name: pb.ComponentHealth(
                status=enums_pb2.HealthStatus.Value(f"HEALTH_STATUS_{c.status.name}"),
                message=c.message,
            )
            for name, c in system.components.items()
        },
        timestamp=now(),
    )


def series_point(point: MinutePoint) -> pb.TaskSeriesPoint:
    p50, p90, p95, p99 = point.percentiles_s
    return pb.TaskSeriesPoint(
        minute=convert.timestamp(point.minute),
        created=point.created,
        completed=point.completed,
        failed=point.failed,
        latency_count=point.latency_count,
        latency_avg_seconds=point.latency_avg_s,
        latency_max_seconds=point.latency_max_s,
        latency_p50_seconds=p50,
        latency_p90_seconds=p90,
        latency_p95_seconds=p95,
        latency_p99_seconds=p99,
    )
