"""The protos carry the exact REST mapping of contract §4 and nothing unexplained."""

from __future__ import annotations

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor

from taskflow.v1 import (
    executor_service_pb2,
    monitor_service_pb2,
    scheduler_service_pb2,
)

SERVICE_FILES: tuple[FileDescriptor, ...] = (
    scheduler_service_pb2.DESCRIPTOR,
    executor_service_pb2.DESCRIPTOR,
    monitor_service_pb2.DESCRIPTOR,
)

# Every endpoint of contract §4 (plus ours), as (method, path) -> RPC.
CONTRACT_ROUTES = {
    ("POST", "/api/v1/tasks/summarize/"): "SchedulerService.CreateSummarizeTask",
    ("POST", "/api/v1/tasks/pdfxtract"): "SchedulerService.CreatePdfxtractTask",
    ("GET", "/api/v1/tasks/"): "SchedulerService.ListTasks",
    ("GET", "/api/v1/tasks/summaries/"): "SchedulerService.ListTaskSummaries",
    ("GET", "/api/v1/tasks/{task_id}"): "SchedulerService.GetTask",
    ("POST", "/api/v1/tasks/{task_id}/retry"): "SchedulerService.RetryTask",
    ("DELETE", "/api/v1/tasks/{task_id}"): "SchedulerService.DeleteTask",
    ("POST", "/api/v1/tasks/requeue-orphaned"): "SchedulerService.RequeueOrphanedTasks",
    ("GET", "/api/v1/queues/status"): "MonitorService.GetQueueStatus",
    ("GET", "/api/v1/queues/status/stream"): "MonitorService.WatchQueues",
    ("GET", "/api/v1/queues/{queue_name}/tasks"): "SchedulerService.ListQueueTasks",
    ("GET", "/api/v1/queues/dlq"): "SchedulerService.ListDlqTasks",
    ("GET", "/api/v1/task-types"): "SchedulerService.ListTaskTypes",
    ("GET", "/api/v1/workers/"): "MonitorService.ListWorkers",
    ("POST", "/api/v1/workers/reset-circuit-breaker"): "ExecutorService.ResetCircuitBreaker",
    ("POST", "/api/v1/workers/open-circuit-breaker"): "ExecutorService.OpenCircuitBreaker",
    ("GET", "/api/v1/openrouter/status"): "MonitorService.GetProviderStatus",
    ("GET", "/api/v1/openrouter/metrics"): "MonitorService.GetProviderMetrics",
    ("GET", "/health"): "MonitorService.GetSystemHealth",
    # What the originals' code serves beyond their READMEs (seed-compat.md).
    ("GET", "/api/v1/tasks/metrics/throughput"): "MonitorService.GetTaskSeries",
    ("GET", "/api/v1/redis/health"): "MonitorService.GetRedisHealth",
    ("GET", "/api/v1/redis/pool-stats"): "MonitorService.GetRedisPoolStats",
    ("GET", "/api/v1/limits"): "MonitorService.ListLimits",
    # Ours.
    ("POST", "/api/v1/tasks"): "SchedulerService.CreateTask",
    ("POST", "/api/v1/tasks/batch"): "SchedulerService.BatchCreateTasks",
    ("POST", "/api/v1/tasks/cleanup"): "SchedulerService.CleanupTasks",
    ("POST", "/api/v1/queues/dlq/retry-all"): "SchedulerService.RetryAllDlqTasks",
    ("DELETE", "/api/v1/queues/dlq"): "SchedulerService.PurgeDlq",
    ("GET", "/api/v1/queues/corrupt"): "SchedulerService.ListCorruptTasks",
    ("POST", "/api/v1/queues/corrupt/drop"): "SchedulerService.DropCorruptTasks",
    ("GET", "/api/v1/tasks/{task_id}/events"): "MonitorService.WatchTask",
    ("GET", "/api/v1/executors/status"): "ExecutorService.GetExecutorStatus",
    ("POST", "/api/v1/executors/pause"): "ExecutorService.PauseExecutor",
    ("POST", "/api/v1/queues/{name}/pause"): "ExecutorService.PauseQueue",
    ("POST", "/api/v1/queues/{name}/resume"): "ExecutorService.ResumeQueue",
    ("POST", "/api/v1/executors/resume"): "ExecutorService.ResumeExecutor",
    ("GET", "/api/v1/openrouter/rate-limit"): "ExecutorService.GetRateLimitStatus",
    ("POST", "/api/v1/tasks/{task_id}/cancel"): "SchedulerService.CancelTask",
    ("GET", "/api/v1/tasks/{task_id}/logs"): "SchedulerService.GetTaskLogs",
    ("POST", "/api/v1/tasks/cancel"): "SchedulerService.CancelTasks",
    ("POST", "/api/v1/schedules"): "SchedulerService.CreateSchedule",
    ("GET", "/api/v1/schedules/{schedule_id}"): "SchedulerService.GetSchedule",
    ("GET", "/api/v1/schedules"): "SchedulerService.ListSchedules",
    ("PUT", "/api/v1/schedules/{schedule_id}"): "SchedulerService.UpdateSchedule",
    ("POST", "/api/v1/schedules/{schedule_id}/pause"): "SchedulerService.PauseSchedule",
    ("POST", "/api/v1/schedules/{schedule_id}/resume"): "SchedulerService.ResumeSchedule",
    ("POST", "/api/v1/schedules/{schedule_id}/trigger"): "SchedulerService.TriggerSchedule",
    ("DELETE", "/api/v1/schedules/{schedule_id}"): "SchedulerService.DeleteSchedule",
}


# Client streams cannot be transcoded: each is named here with the route the gateway
# serves through it (a unary RPC's mapping).
CLIENT_STREAMS = {"CreatePdfxtractTaskStream": "CreatePdfxtractTask"}


def _methods(*, client_streams: bool = False) -> list[MethodDescriptor]:
    return [
        method
        for file in SERVICE_FILES
        for service in file.services_by_name.values()
        for method in service.methods
        if client_streams or not method.client_streaming
    ]


def _route(method: MethodDescriptor) -> tuple[str, str]:
    options = method.GetOptions()
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    assert verb is not None, f"{method.full_name} has no google.api.http mapping"
    return verb.upper(), getattr(rule, verb)


def test_every_rpc_carries_a_rest_mapping() -> None:
    routes = {_route(m): f"{m.containing_service.name}.{m.name}" for m in _methods()}
    assert routes == CONTRACT_ROUTES


def test_path_parameters_name_request_fields() -> None:
    for method in _methods():
        _, path = _route(method)
        for part in path.split("/"):
            if part.startswith("{"):
                assert part.strip("{}") in method.input_type.fields_by_name, method.full_name


def test_live_watches_are_server_streams() -> None:
    streaming = {m.name for m in _methods() if m.server_streaming}
    assert streaming == {"WatchQueues", "WatchTask"}


def test_client_streams_are_uploads_beside_a_mapped_unary_rpc() -> None:
    streams = [m for m in _methods(client_streams=True) if m.client_streaming]
    assert {m.name for m in streams} == set(CLIENT_STREAMS)
    for method in streams:
        assert not method.server_streaming
        assert method.GetOptions().Extensions[annotations_pb2.http].WhichOneof("pattern") is None
        unary = method.containing_service.methods_by_name[CLIENT_STREAMS[method.name]]
        assert _route(unary) == ("POST", "/api/v1/tasks/pdfxtract")


def test_listing_requests_accept_every_contract_filter() -> None:
    filters = {
        "status",
        "task_type",
        "queue",
        "start_date",
        "end_date",
        "sort_by",
        "sort_order",
        "page",
        "page_size",
        "task_id",
    }
    for request in (
        scheduler_service_pb2.ListTasksRequest,
        scheduler_service_pb2.ListTaskSummariesRequest,
    ):
        assert set(request.DESCRIPTOR.fields_by_name) == filters
