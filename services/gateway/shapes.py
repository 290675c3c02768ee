"""Protobuf messages -> the JSON shapes of contract §4: the one place that knows both.

States are spelled as in the contract ("PENDING"), other enums in lower case
("healthy", "api_key_missing") except breaker states ("CLOSED", as stored in
Redis); timestamps are ISO 8601 strings, null when unset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from taskflow.v1 import enums_pb2, task_pb2
from taskflow.v1 import executor_service_pb2 as executor_pb
from taskflow.v1 import monitor_service_pb2 as monitor_pb

Json = dict[str, Any]
STATE_NAMES = ("PENDING", "ACTIVE", "COMPLETED", "FAILED", "SCHEDULED", "DLQ", "CANCELLED")
QUEUE_NAMES = ("primary", "retry", "scheduled", "dlq")


def iso(message: Message, field: str) -> str | None:
    if not message.HasField(field):
        return None
    return str(getattr(message, field).ToDatetime(tzinfo=UTC).isoformat())


def error_record(record: task_pb2.ErrorRecord) -> Json:
    """An error_history entry; `exception` and `traceback` only when the failure
    was an unexpected exception (the contract's five fields otherwise)."""
    shaped: Json = {
        "timestamp": iso(record, "timestamp"),
        "error": record.error,
        "error_type": record.error_type,
        "retry_count": record.retry_count,
        "state_transition": record.state_transition,
    }
    if record.exception:
        shaped["exception"] = record.exception
    if record.traceback:
        shaped["traceback"] = record.traceback
    return shaped


def state_record(record: task_pb2.StateRecord) -> Json:
    """A state_history entry; `reason` only when the task was parked."""
    shaped: Json = {"state": state_name(record.state), "timestamp": iso(record, "timestamp")}
    if record.reason:
        shaped["reason"] = record.reason
    return shaped


def state_name(value: enums_pb2.TaskState.ValueType) -> str | None:
    if value == enums_pb2.TASK_STATE_UNSPECIFIED:
        return None
    return enums_pb2.TaskState.Name(value).removeprefix("TASK_STATE_")


def circuit_name(value: enums_pb2.CircuitState.ValueType) -> str:
    if value == enums_pb2.CIRCUIT_STATE_UNSPECIFIED:
        return "CLOSED"  # a breaker never used is closed
    return enums_pb2.CircuitState.Name(value).removeprefix("CIRCUIT_STATE_")


def health_name(value: enums_pb2.HealthStatus.ValueType) -> str:
    if value == enums_pb2.HEALTH_STATUS_UNSPECIFIED:
        return "unknown"
    return enums_pb2.HealthStatus.Name(value).removeprefix("HEALTH_STATUS_").lower()


def map_leaves(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """A JSON value with `leaf` applied to everything in it that is not a dict or a
    list (those keep their shape)."""
    if isinstance(value, dict):
        return {key: map_leaves(item, leaf) for key, item in value.items()}
    if isinstance(value, list):
        return [map_leaves(item, leaf) for item in value]
    return leaf(value)


def _whole(value: Any) -> Any:
    """Struct values come back as floats: give whole numbers back their int form."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# --- tasks -----------------------------------------------------------------------------


def task_detail(task: task_pb2.Task) -> Json:
    return {
        "task_id": task.task_id,
        "task_type": task.task_type,
        "state": state_name(task.state),
        "content": task.content,
        "metadata": map_leaves(MessageToDict(task.metadata), _whole),
        "retry_count": task.retry_count,
        "max_retries": task.max_retries,
        "last_error": task.last_error or None,
        "error_type": task.error_type or None,
        "retry_after": iso(task, "retry_after"),
        "created_at": iso(task, "created_at"),
        "updated_at": iso(task, "updated_at"),
        "started_at": iso(task, "started_at"),
        "completed_at": iso(task, "completed_at"),
        "failed_at": iso(task, "failed_at"),
        "scheduled_at": iso(task, "scheduled_at"),
        "dlq_at": iso(task, "dlq_at"),
        # Ours: when a delayed task is due, when it was cancelled, and when a client
        # asked to cancel it while it ran (null when not).
        "run_at": iso(task, "run_at"),
        "cancelled_at": iso(task, "cancelled_at"),
        "cancel_requested_at": iso(task, "cancel_requested_at"),
        "result": task.result or None,
        "error_history": [error_record(record) for record in task.error_history],
        "state_history": [state_record(record) for record in task.state_history],
        "worker_id": task.worker_id or None,
        "priority": task.priority,
        "idempotency_key": task.idempotency_key or None,
        "has_payload": task.has_payload,
        "payload_size": task.payload_size,
        # Ours: seconds the task is kept once terminal; null = forever.
        "retention_seconds": task.retention.seconds if task.HasField("retention") else None,
        **_progress(task),
    }


def _progress(task: task_pb2.Task) -> Json:
    """Progress keys, only on a task whose handler reported some (the original's
    task shape is otherwise unchanged)."""
    if not task.HasField("progress"):
        return {}
    return {
        "progress": task.progress,
        "progress_message": task.progress_message,
        "progress_at": iso(task, "progress_at"),
    }


def task_summary(task: task_pb2.TaskSummary) -> Json:
    return {
        "task_id": task.task_id,
        "task_type": task.task_type,
        "state": state_name(task.state),
        "retry_count": task.retry_count,
        "max_retries": task.max_retries,
        "last_error": task.last_error or None,
        "error_type": task.error_type or None,
        "created_at": iso(task, "created_at"),
        "updated_at": iso(task, "updated_at"),
        "completed_at": iso(task, "completed_at"),
        "content_length": task.content_length,
        "has_result": task.has_result,
    }


def created(task_id: str, state: enums_pb2.TaskState.ValueType) -> Json:
    return {"task_id": task_id, "state": state_name(state)}


# --- queues ----------------------------------------------------------------------------


def depths(message: task_pb2.QueueDepths) -> Json:
    return {name: getattr(message, name) for name in QUEUE_NAMES}


def counts(message: task_pb2.StateCounts) -> Json:
    return {name: getattr(message, name.lower()) for name in STATE_NAMES}


def queue_status(reply: monitor_pb.GetQueueStatusResponse) -> Json:
    return {
        "queues": depths(reply.queues),
        "states": counts(reply.states),
        "retry_ratio": reply.retry_ratio,
        "named_queues": named_queues(reply.named_queues),  # ours, an addition
        "corrupt_tasks": reply.corrupt_tasks,  # ours, an addition
    }


def named_queues(queues: Iterable[monitor_pb.NamedQueueStatus]) -> list[Json]:
    """Each named queue's depths, paused state and consuming workers."""
    return [
        {
            "name": q.name,
            "primary": q.primary,
            "primary_by_priority": {str(p): n for p, n in sorted(q.primary_by_priority.items())},
            "retry": q.retry,
            "waiting": dict(sorted(q.waiting.items())),
            "paused": q.paused,
            "workers": list(q.workers),
        }
        for q in queues
    ]


# --- workers, executors, breaker, provider, health ----------------------------------


NO_WORKERS = "No worker heartbeats found - workers may not be running"
# The original spells breaker states in lower case, half-open with a hyphen.
SEED_BREAKER = {"CLOSED": "closed", "OPEN": "open", "HALF_OPEN": "half-open"}
SHARED_BREAKER_NOTE = "One breaker shared by every worker through Redis"


def workers(reply: monitor_pb.ListWorkersResponse) -> Json:
    """The original's shape (seed-compat 1): a nested `circuit_breaker` per worker,
    `circuit_breaker_states` counting workers per breaker state, an `error` when no
    worker heartbeats; ours beside it (`breakers`: each breaker's state by service)."""
    details = [_worker(worker) for worker in reply.worker_details]
    per_state: dict[str, int] = {}
    for detail in details:
        state = detail["circuit_breaker"]["state"]
        per_state[state] = per_state.get(state, 0) + 1
    body: Json = {
        "overall_status": health_name(reply.overall_status),
        "total_workers": reply.total_workers,
        "healthy_workers": reply.healthy_workers,
        "stale_workers": reply.stale_workers,
        "circuit_breaker_states": per_state,
        "breakers": {
            name: circuit_name(state)
            for name, state in sorted(reply.circuit_breaker_states.items())
        },
        "worker_details": details,
        "timestamp": iso(reply, "timestamp"),
    }
    if not details:
        body["error"] = NO_WORKERS
    return body


def seed_breaker(value: enums_pb2.CircuitState.ValueType) -> str:
    return SEED_BREAKER[circuit_name(value)]


def _worker(worker: monitor_pb.WorkerDetail) -> Json:
    stale = worker.status == enums_pb2.WORKER_HEALTH_STALE
    age = round(worker.seconds_since_heartbeat, 3)
    return {
        "worker_id": worker.worker_id,
        "status": "stale" if stale else "healthy",
        "last_heartbeat": worker.last_seen.ToMicroseconds() / 1e6,
        "heartbeat_age_seconds": age,
        "circuit_breaker": {
            "state": seed_breaker(worker.circuit_breaker_state),
            "success_count": worker.success_count,
            "fail_count": worker.failure_count,
            "note": SHARED_BREAKER_NOTE,
        },
        "last_seen": iso(worker, "last_seen"),
        "seconds_since_heartbeat": age,
        "circuit_breaker_state": circuit_name(worker.circuit_breaker_state),
        "success_count": worker.success_count,
        "failure_count": worker.failure_count,
        "active_tasks": list(worker.active_task_ids),
        "active_task_count": len(worker.active_task_ids),
        "hostname": worker.hostname,
        "pid": worker.pid,
        "concurrency": worker.concurrency,
        "started_at": iso(worker, "started_at"),
    }


def breaker_results(results: Any, verb: str) -> list[Json]:
    """One entry per breaker (shared by every worker): the original's `status`,
    `message`, `new_state`, `worker_id` beside ours."""
    return [
        {
            "worker_id": f"all-workers:{result.service}",
            "status": "success" if result.success else "error",
            "message": (
                f"Circuit breaker {result.service} {verb} for every worker"
                if result.success
                else f"Circuit breaker {result.service} could not be {verb}"
            ),
            "new_state": seed_breaker(result.state),
            "service": result.service,
            "previous_state": circuit_name(result.previous_state),
            "state": circuit_name(result.state),
            "success": result.success,
        }
        for result in results
    ]


def breaker_reset(reply: executor_pb.ResetCircuitBreakerResponse) -> Json:
    return {
        "message": reply.message,
        "successful_resets": reply.successful_resets,
        "results": breaker_results(reply.results, "reset"),
        "timestamp": iso(reply, "timestamp"),
    }


def breaker_open(reply: executor_pb.OpenCircuitBreakerResponse) -> Json:
    # "Likewise" (contract §4): the reset's shape, plus the name that says what happened.
    return {
        "message": reply.message,
        "successful_resets": reply.successful_opens,
        "successful_opens": reply.successful_opens,
        "results": breaker_results(reply.results, "opened"),
        "timestamp": iso(reply, "timestamp"),
    }


def executor_status(reply: executor_pb.GetExecutorStatusResponse) -> Json:
    return {
        "executor_id": reply.executor_id,
        "paused": reply.paused,
        "workers": [
            {
                "worker_id": worker.worker_id,
                "pid": worker.pid,
                "concurrency": worker.concurrency,
                "active_task_ids": list(worker.active_task_ids),
                "completed": worker.completed,
                "failed": worker.failed,
                "last_heartbeat": iso(worker, "last_heartbeat"),
            }
            for worker in reply.workers
        ],
    }


def rate_limit(reply: executor_pb.GetRateLimitStatusResponse) -> Json:
    return {
        "enabled": reply.enabled,
        "requests": reply.requests,
        "interval": reply.interval,
        "tokens": reply.tokens,
        "capacity": reply.capacity,
        "refill_rate": reply.refill_rate,
        "utilization": reply.utilization,
    }


def provider_status(reply: monitor_pb.GetProviderStatusResponse) -> Json:
    status = enums_pb2.ProviderState.Name(reply.status).removeprefix("PROVIDER_STATE_")
    return {
        "status": "unknown" if status == "UNSPECIFIED" else status.lower(),
        "message": reply.message,
        "balance": reply.balance if reply.HasField("balance") else None,
        "usage_today": reply.usage_today if reply.HasField("usage_today") else None,
        "usage_month": reply.usage_month if reply.HasField("usage_month") else None,
        "last_check": iso(reply, "last_check"),
        "error_details": reply.error_details or None,
        "consecutive_failures": reply.consecutive_failures,
        "circuit_breaker_open": reply.circuit_breaker_open,
        "cache_hit": reply.cache_hit,
    }


def provider_metrics(reply: monitor_pb.GetProviderMetricsResponse, days: int) -> Json:
    """The original's shape (seed-compat 5): `metrics` by date, `days` asked,
    `generated_at`; ours beside it (`daily`: the same days as a list, newest first)."""
    daily = [
        {
            "date": day.date,
            "total_calls": day.total_calls,
            "successes": day.successes,
            "failures": day.failures,
            "rate_limit_hits": day.rate_limit_hits,
        }
        for day in reply.days
    ]
    return {
        "metrics": {
            day.date: {
                "total_calls": day.total_calls,
                "successful_calls": day.successes,
                "failed_calls": day.failures,
                "rate_limit_hits": day.rate_limit_hits,
            }
            for day in reply.days
            if day.total_calls or day.failures or day.rate_limit_hits
        },
        "days": days,
        "generated_at": datetime.now(UTC).isoformat(),
        "daily": daily,
    }


def system_health(reply: monitor_pb.GetSystemHealthResponse) -> Json:
    return {
        "status": health_name(reply.status),
        "components": components(reply.components),
        "timestamp": iso(reply, "timestamp"),
    }


def components(values: Mapping[str, monitor_pb.ComponentHealth]) -> Json:
    return {
        name: {"status": health_name(part.status), "message": part.message}
        for name, part in sorted(values.items())
    }


# --- task series, Redis (the original's /api/v1/tasks/metrics/* and /api/v1/redis/*) ---


def throughput(reply: monitor_pb.GetTaskSeriesResponse, minutes: int) -> Json:
    return {
        "metrics": [
            {
                "timestamp": iso(point, "minute"),
                "created_count": point.created,
                "completed_count": point.completed,
                "failed_count": point.failed,
            }
            for point in reply.points
        ],
        "time_window": f"{minutes}m",
    }


def latency(reply: monitor_pb.GetTaskSeriesResponse, minutes: int) -> Json:
    """Seconds from creation to completion, per minute of completion."""
    return {
        "metrics": [
            {
                "timestamp": iso(point, "minute"),
                "p50": point.latency_p50_seconds,
                "p90": point.latency_p90_seconds,
                "p95": point.latency_p95_seconds,
                "p99": point.latency_p99_seconds,
                "max_latency": point.latency_max_seconds,
                "avg_latency": point.latency_avg_seconds,
                "task_count": point.latency_count,
            }
            for point in reply.points
        ],
        "time_window": f"{minutes}m",
    }


def redis_health(reply: monitor_pb.GetRedisHealthResponse) -> Json:
    body: Json = {
        "status": "healthy" if reply.connected else "unhealthy",
        "connected": reply.connected,
        "response_time_ms": reply.response_time_ms,
        "timestamp": reply.timestamp.ToMicroseconds() / 1e6,
    }
    if reply.error:
        body["error"] = reply.error
    return body


def redis_pool_stats(reply: monitor_pb.GetRedisPoolStatsResponse) -> Json:
    """The monitor's own pool (the gateway has none: it talks gRPC only)."""
    in_use, most = reply.in_use_connections, reply.max_connections
    stats: Json = {
        "status": "healthy" if reply.available else "unhealthy",
        "max_connections": most,
        "created_connections": reply.created_connections,
        "available_connections": reply.available_connections,
        "in_use_connections": in_use,
        "connection_type": reply.connection_type,
        "utilization_percent": round(100 * in_use / most, 2) if most else 0.0,
        "reporting_service": "monitor",
    }
    return {"pool_statistics": stats, "recommendations": _pool_advice(reply, stats)}


def _pool_advice(reply: monitor_pb.GetRedisPoolStatsResponse, stats: Json) -> dict[str, str]:
    if not reply.available:
        return {"availability": "This client keeps one pool per cluster node; none to report"}
    used = stats["utilization_percent"]
    advice: dict[str, str] = {}
    if used > 90:
        advice["high_utilization"] = f"{used:.1f}% of the pool in use: raise its size"
    elif used > 75:
        advice["moderate_utilization"] = f"{used:.1f}% of the pool in use: watch it at peaks"
    if reply.available_connections == 0 and reply.in_use_connections > 0:
        advice["pool_exhaustion"] = "No idle connection left: new commands wait for one"
    return advice or {"status": "The pool is operating within normal parameters"}


def log_line(line: task_pb2.TaskLogLine) -> Json:
    """One task log line as GetTaskLogs's JSON has it (seq as a number here)."""
    return {
        "seq": line.seq,
        "time": iso(line, "time"),
        "level": line.level,
        "logger": line.logger,
        "message": line.message,
    }
