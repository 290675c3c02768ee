"""Protobuf messages -> the JSON shapes of contract §4: the one place that knows both.

States are spelled as in the contract ("PENDING"), other enums in lower case
("healthy", "api_key_missing") except breaker states ("CLOSED", as stored in
Redis); timestamps are ISO 8601 strings, null when unset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from taskflow.v1 import enums_pb2, task_pb2
from taskflow.v1 import executor_service_pb2 as executor_pb
from taskflow.v1 import monitor_service_pb2 as monitor_pb

Json = dict[str, Any]
STATE_NAMES = ("PENDING", "ACTIVE", "COMPLETED", "FAILED", "SCHEDULED", "DLQ")
QUEUE_NAMES = ("primary", "retry", "scheduled", "dlq")


def iso(message: Message, field: str) -> str | None:
    if not message.HasField(field):
        return None
    return str(getattr(message, field).ToDatetime(tzinfo=UTC).isoformat())


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
        "result": task.result or None,
        "error_history": [
            {
                "timestamp": iso(record, "timestamp"),
                "error": record.error,
                "error_type": record.error_type,
                "retry_count": record.retry_count,
                "state_transition": record.state_transition,
            }
            for record in task.error_history
        ],
        "state_history": [
            {"state": state_name(record.state), "timestamp": iso(record, "timestamp")}
            for record in task.state_history
        ],
        "worker_id": task.worker_id or None,
        "priority": task.priority,
        "idempotency_key": task.idempotency_key or None,
        "has_payload": task.has_payload,
        "payload_size": task.payload_size,
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
    }


# --- workers, executors, breaker, provider, health ----------------------------------


def workers(reply: monitor_pb.ListWorkersResponse) -> Json:
    return {
        "overall_status": health_name(reply.overall_status),
        "total_workers": reply.total_workers,
        "healthy_workers": reply.healthy_workers,
        "stale_workers": reply.stale_workers,
        "circuit_breaker_states": {
            name: circuit_name(state)
            for name, state in sorted(reply.circuit_breaker_states.items())
        },
        "worker_details": [_worker(worker) for worker in reply.worker_details],
        "timestamp": iso(reply, "timestamp"),
    }


def _worker(worker: monitor_pb.WorkerDetail) -> Json:
    stale = worker.status == enums_pb2.WORKER_HEALTH_STALE
    return {
        "worker_id": worker.worker_id,
        "status": "stale" if stale else "healthy",
        "last_seen": iso(worker, "last_seen"),
        "seconds_since_heartbeat": round(worker.seconds_since_heartbeat, 3),
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


def breaker_results(results: Any) -> list[Json]:
    return [
        {
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
        "results": breaker_results(reply.results),
        "timestamp": iso(reply, "timestamp"),
    }


def breaker_open(reply: executor_pb.OpenCircuitBreakerResponse) -> Json:
    # "Likewise" (contract §4): the reset's shape, plus the name that says what happened.
    return {
        "message": reply.message,
        "successful_resets": reply.successful_opens,
        "successful_opens": reply.successful_opens,
        "results": breaker_results(reply.results),
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


def provider_metrics(reply: monitor_pb.GetProviderMetricsResponse) -> Json:
    return {
        "days": [
            {
                "date": day.date,
                "total_calls": day.total_calls,
                "successes": day.successes,
                "failures": day.failures,
                "rate_limit_hits": day.rate_limit_hits,
            }
            for day in reply.days
        ]
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
