"""/api/v1/queues: depths and counts, the live stream, queue heads, the DLQ listing
(retry-all and purge answer proto JSON: the transcoder serves them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.sse import EventSourceResponse

from services.gateway import shapes, sse
from services.gateway.deps import CallerRpc, SharedQueueStreams
from services.gateway.routes.params import QueueName
from taskflow.settings import Settings
from taskflow.v1 import monitor_service_pb2 as monitor_pb
from taskflow.v1 import scheduler_service_pb2 as pb

Json = dict[str, Any]
MAX_LIMIT = 1000


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix="/api/v1/queues", tags=["queues"])

    @api.get("/status")
    async def queue_status(rpc: CallerRpc) -> Json:
        reply = await rpc.call(rpc.monitor.GetQueueStatus, monitor_pb.GetQueueStatusRequest())
        return shapes.queue_status(reply)

    @api.get("/status/stream", responses=sse.RESPONSES)
    async def queue_stream(
        rpc: CallerRpc,
        streams: SharedQueueStreams,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> EventSourceResponse:
        """SSE (contract §5): `initial_status`, then `task_created`,
        `task_state_changed`, `task_deleted` as they happen (each with the depths,
        counts and retry ratio right after it, then a `queue_update` with the same
        figures), `heartbeat` when quiet, `error` on
        trouble. With auth on, an EventSource passes the token as `?token=`.
        Each event has an `id:`; with `Last-Event-ID` the stream resumes after it
        (a `heartbeat` first, then the missed events), or, too late for that,
        starts with an `initial_status` marked `missed_events`."""
        if last_event_id:
            events = await streams.resume(rpc.metadata, last_event_id)
        else:
            events = await streams.open(rpc.metadata)
        return EventSourceResponse(events, headers=sse.QUEUE_HEADERS)

    @api.get("/dlq")
    async def dlq_tasks(
        rpc: CallerRpc, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100
    ) -> list[Json]:
        reply = await rpc.call(rpc.scheduler.ListDlqTasks, pb.ListDlqTasksRequest(limit=limit))
        return [shapes.task_detail(task) for task in reply.tasks]

    @api.get("/{queue_name}/tasks")
    async def queue_tasks(
        queue_name: QueueName,
        rpc: CallerRpc,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    ) -> list[str]:
        """Task ids at the head of `primary`, `retry`, `scheduled` or `dlq`, next first
        (another name is a 422 validation error, as in the original)."""
        request = pb.ListQueueTasksRequest(queue_name=queue_name.value, limit=limit)
        reply = await rpc.call(rpc.scheduler.ListQueueTasks, request)
        return list(reply.task_ids)

    return api
