"""/api/v1/tasks: create, list, read, retry, clean up, follow one task: the routes
whose JSON is the original system's rather than the proto's (delete and
requeue-orphaned answer proto JSON: the transcoder serves them)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, BinaryIO
from uuid import UUID

import grpc
from fastapi import APIRouter, File, Form, Header, HTTPException, Path, UploadFile, status
from fastapi.sse import EventSourceResponse
from google.protobuf import struct_pb2
from grpc import aio
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from services.gateway import shapes, sse, uploads
from services.gateway.deps import CallerRpc
from services.gateway.errors import GrpcHTTPError
from services.gateway.routes.params import (
    INT32_MAX,
    INT32_MIN,
    OWN_BODY,
    ListingQuery,
    StateName,
    state_to_proto,
)
from taskflow.metadata_rules import MAX_IDEMPOTENCY_KEY, MAX_RETRIES_CEILING, check_metadata
from taskflow.settings import Settings
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1.monitor_service_pb2 import WatchTaskRequest

# Room for the multipart envelope around the largest accepted PDF.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024
PREFIX = "/api/v1/tasks"
PDFXTRACT_PATH = f"{PREFIX}/pdfxtract"
NOT_A_PDF = {grpc.StatusCode.INVALID_ARGUMENT: status.HTTP_400_BAD_REQUEST}
# Retrying a task that is neither FAILED nor in the DLQ: 400, as the original's tester checks.
NOT_RETRYABLE = {grpc.StatusCode.FAILED_PRECONDITION: status.HTTP_400_BAD_REQUEST}
MAX_AGE_S = 100 * 365 * 24 * 3600  # older_than_seconds: a century is "everything"
# What a proto Duration holds with room to spare; the scheduler refuses over a year.
MAX_DELAY = timedelta(days=3650)
Json = dict[str, Any]
# Task ids are UUIDs: /openapi.json says so, and anything else is a 422 naming the field.
TaskId = Annotated[UUID, Path(description="The task's id (a UUID).")]


class SummarizeBody(BaseModel):
    content: str = Field(min_length=1, description="The text to summarize.")
    idempotency_key: str = Field(
        default="",
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Ours: a repeat returns the first task.",
    )


class CreateTaskBody(BaseModel):
    model_config = OWN_BODY

    task_type: str = Field(min_length=1, description="A registered task type.")
    content: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    max_retries: int | None = Field(default=None, ge=0, le=MAX_RETRIES_CEILING)
    priority: int = Field(default=0, ge=INT32_MIN, le=INT32_MAX)
    idempotency_key: str = Field(default="", max_length=MAX_IDEMPOTENCY_KEY)
    run_at: AwareDatetime | None = Field(
        default=None, description="Run no earlier than this (ISO 8601 with a zone)."
    )
    delay: timedelta | None = Field(
        default=None,
        le=MAX_DELAY,
        description='Run this long after creation: seconds, "600s" or ISO 8601 ("PT10M").',
    )
    queue: str = Field(
        default="",
        description="Named queue of the task ([a-z0-9_-]{1,64}); empty: its task type's queue.",
    )
    retention: timedelta | None = Field(
        default=None,
        le=MAX_DELAY,
        description="Keep the task this long once terminal (like delay); unset: its type's, "
        "then RETENTION_SECONDS.",
    )

    @field_validator("delay", "retention", mode="before")
    @classmethod
    def _proto_duration(cls, value: Any) -> Any:
        """The proto JSON spelling of a Duration ("600s", "1.5s") as seconds."""
        if isinstance(value, str) and value.endswith("s"):
            try:
                return float(value[:-1])
            except ValueError:
                return value
        return value

    @field_validator("metadata")
    @classmethod
    def _fits_a_struct(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        check_metadata(metadata)
        return metadata


class BatchBody(BaseModel):
    model_config = OWN_BODY

    tasks: list[CreateTaskBody] = Field(min_length=1)


class RetryBody(BaseModel):
    reset_retry_count: bool = False


class CleanupBody(BaseModel):
    """At least one of the two: the service refuses to delete everything."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["states"], "properties": {"states": {"minItems": 1}}},
                {
                    "required": ["older_than_seconds"],
                    "properties": {"older_than_seconds": {"type": "number"}},
                },
            ]
        },
    )

    states: list[StateName] = Field(default_factory=list)
    older_than_seconds: StrictFloat | None = Field(
        default=None, ge=0, le=MAX_AGE_S, allow_inf_nan=False
    )

    @model_validator(mode="after")
    def _names_what_to_delete(self) -> CleanupBody:
        if not self.states and self.older_than_seconds is None:
            raise ValueError("give states and/or older_than_seconds; refusing to delete everything")
        return self


def router(settings: Settings) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["tasks"])
    budget = uploads.UploadBudget(settings.gateway_upload_memory_bytes)

    @api.post("/summarize/", status_code=201)
    async def create_summarize(body: SummarizeBody, rpc: CallerRpc) -> Json:
        request = pb.CreateTaskRequest(
            task_type="summarize", content=body.content, idempotency_key=body.idempotency_key
        )
        reply = await rpc.create_task(request)
        return shapes.created(reply.task_id, reply.state)

    @api.post(
        "/pdfxtract",
        status_code=201,
        responses={400: {"description": "Not a PDF"}, 413: {"description": "Too large"}},
    )
    async def create_pdfxtract(
        file: Annotated[UploadFile, File(description="The PDF (application/pdf).")],
        rpc: CallerRpc,
        issue_date: Annotated[str, Form(description="ISO 8601 date of the issue.")] = "",
    ) -> Json:
        size = file.size if file.size is not None else await run_in_threadpool(_size, file.file)
        if size > settings.max_payload_bytes:
            raise_too_large(size, settings.max_payload_bytes)
        fields = pb.PdfxtractUpload(
            filename=file.filename or "",
            issue_date=issue_date,
            content_type=file.content_type or "",
            size=size,
        )
        with budget.reserve(uploads.memory_needed(size, fields)):
            try:
                reply = await rpc.send_stream(
                    rpc.clients.create_pdfxtract_stream, uploads.messages(file, fields)
                )
            except aio.AioRpcError as error:
                raise GrpcHTTPError(error, NOT_A_PDF) from None
        return shapes.created(reply.task_id, reply.state)

    @api.post("", status_code=201)
    async def create_task(body: CreateTaskBody, rpc: CallerRpc) -> Json:
        reply = await rpc.create_task(_create_request(body))
        return {**shapes.created(reply.task_id, reply.state), "created": reply.created}

    @api.post("/batch", status_code=201)
    async def create_batch(body: BatchBody, rpc: CallerRpc) -> Json:
        request = pb.BatchCreateTasksRequest(tasks=[_create_request(t) for t in body.tasks])
        reply = await rpc.call(rpc.scheduler.BatchCreateTasks, request)
        return {
            "tasks": [
                {**shapes.created(t.task_id, t.state), "created": t.created} for t in reply.tasks
            ]
        }

    @api.get("/")
    @api.get("")
    async def list_tasks(query: ListingQuery, rpc: CallerRpc) -> Json:
        reply = await rpc.call(rpc.scheduler.ListTasks, pb.ListTasksRequest(**query.fields()))
        return _page([shapes.task_detail(t) for t in reply.tasks], reply)

    @api.get("/summaries/")
    async def list_summaries(query: ListingQuery, rpc: CallerRpc) -> Json:
        request = pb.ListTaskSummariesRequest(**query.fields())
        reply = await rpc.call(rpc.scheduler.ListTaskSummaries, request)
        return _page([shapes.task_summary(t) for t in reply.tasks], reply)

    @api.post("/cleanup")
    async def cleanup(body: CleanupBody, rpc: CallerRpc) -> Json:
        request = pb.CleanupTasksRequest(states=[state_to_proto(s) for s in body.states])
        if body.older_than_seconds is not None:
            before = datetime.now(UTC) - timedelta(seconds=body.older_than_seconds)
            request.created_before.FromDatetime(before)
        reply = await rpc.call(rpc.scheduler.CleanupTasks, request)
        return {"deleted": reply.deleted, "message": reply.message}

    @api.get("/{task_id}")
    async def get_task(task_id: TaskId, rpc: CallerRpc) -> Json:
        reply = await rpc.call(rpc.scheduler.GetTask, pb.GetTaskRequest(task_id=str(task_id)))
        return shapes.task_detail(reply.task)

    @api.post(
        "/{task_id}/retry",
        responses={400: {"description": "The task is neither FAILED nor in the DLQ"}},
    )
    async def retry_task(task_id: TaskId, rpc: CallerRpc, body: RetryBody | None = None) -> Json:
        request = pb.RetryTaskRequest(
            task_id=str(task_id), reset_retry_count=bool(body and body.reset_retry_count)
        )
        try:
            reply = await rpc.call(rpc.scheduler.RetryTask, request)
        except aio.AioRpcError as error:
            raise GrpcHTTPError(error, NOT_RETRYABLE) from None
        return shapes.created(reply.task_id, reply.state)

    @api.get("/{task_id}/events", responses=sse.RESPONSES)
    async def follow_task(
        task_id: TaskId,
        rpc: CallerRpc,
        last_event_id: Annotated[str | None, Header()] = None,
        logs: bool = False,
    ) -> EventSourceResponse:
        """SSE: `{"type": "task", "task", "old_state"}` per change, until the task is
        COMPLETED, in the DLQ, or deleted (`{"type": "deleted"}`). With auth on, an
        EventSource passes the token as `?token=`. Each event has an `id:`; with
        `Last-Event-ID` the first event is marked `missed_events` when the events
        stream no longer holds what happened since (each event is the whole task).
        With `?logs=true` events also carry the task's new log lines (`log_lines`),
        the kept ones with the first."""
        request = WatchTaskRequest(
            task_id=str(task_id), resume_after=last_event_id or "", with_logs=logs
        )
        call = rpc.stream(rpc.monitor.WatchTask, request)
        return await sse.open_stream(call, sse.task_event)

    return api


def upload_limit(settings: Settings) -> int:
    """The body limit of the pdfxtract upload: the largest PDF plus its envelope."""
    return settings.max_payload_bytes + MULTIPART_OVERHEAD_BYTES


def _size(upload: BinaryIO) -> int:
    return upload.seek(0, os.SEEK_END)


def raise_too_large(size: int, limit: int) -> None:
    raise HTTPException(413, f"file is {size} bytes; the limit is {limit}")


def _create_request(body: CreateTaskBody) -> pb.CreateTaskRequest:
    metadata = struct_pb2.Struct()
    metadata.update(body.metadata)
    request = pb.CreateTaskRequest(
        task_type=body.task_type,
        content=body.content,
        metadata=metadata,
        priority=body.priority,
        idempotency_key=body.idempotency_key,
        queue=body.queue,
    )
    if body.max_retries is not None:
        request.max_retries = body.max_retries
    if body.run_at is not None:
        request.run_at.FromDatetime(body.run_at.astimezone(UTC))
    if body.delay is not None:
        request.delay.FromTimedelta(body.delay)
    if body.retention is not None:
        request.retention.FromTimedelta(body.retention)
    return request


def _page(items: list[Json], reply: Any) -> Json:
    return {
        "tasks": items,
        "page": reply.page,
        "page_size": reply.page_size,
        "total_items": reply.total_items,
        "total_pages": reply.total_pages,
        "status": shapes.state_name(reply.status),
    }
