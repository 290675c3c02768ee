"""SchedulerService over gRPC: thin, it converts messages and calls the store.

Validation lives in `intake` (new tasks) and the store (queries, ids); domain
errors become status codes in the shared interceptor.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Protocol

from grpc import aio

from services.scheduler import uploads
from services.scheduler.coalescing import CreateCoalescer
from services.scheduler.corrupt_rpcs import CorruptRpcs
from services.scheduler.intake import Intake
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.schedule_rpcs import ScheduleRpcs
from taskflow.errors import InvalidInput, NotFound, quoted
from taskflow.rpc import convert
from taskflow.store import (
    CANCELLABLE_STATES,
    Created,
    NewTask,
    QueueName,
    TaskPage,
    TaskQuery,
    TaskState,
    TaskStore,
)
from taskflow.store.queues import QueueAdmin
from taskflow.store.remote import RemoteQueues
from taskflow.store.schedules import ScheduleStore
from taskflow.store.task_logs import TaskLogs
from taskflow.tasks import registered
from taskflow.tasks.registry import registered_names, registered_types, task_type
from taskflow.v1 import enums_pb2
from taskflow.v1 import scheduler_service_pb2 as pb
from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceServicer

Context = aio.ServicerContext[Any, Any]
# The task's timestamp fields (seed-compat 8). Pages come from the creation-time
# indexes, so every one of them orders by created_at (README: deliberate differences).
SORTABLE = (
    "", "created_at", "updated_at", "started_at", "completed_at", "failed_at",
    "scheduled_at", "dlq_at",
)  # fmt: skip
DEFAULT_QUEUE_LIMIT = 10
DEFAULT_DLQ_LIMIT = 100
DEFAULT_LOG_LIMIT = 100
MAX_LIMIT = 1000
PENDING = enums_pb2.TASK_STATE_PENDING
BUILTIN_PACKAGE = "taskflow.tasks.builtin"


class _Listing(Protocol):
    """The filter fields ListTasksRequest and ListTaskSummariesRequest share."""

    status: enums_pb2.TaskState.ValueType
    task_type: str
    queue: enums_pb2.QueueName.ValueType
    sort_by: str
    sort_order: enums_pb2.SortOrder.ValueType
    page: int
    page_size: int
    task_id: str

    def HasField(self, field_name: Any) -> bool: ...


class SchedulerServicer(ScheduleRpcs, CorruptRpcs, SchedulerServiceServicer):
    def __init__(
        self,
        store: TaskStore,
        intake: Intake,
        schedules: ScheduleStore,
        metrics: SchedulerMetrics | None = None,
    ) -> None:
        self.store = store
        self.intake = intake
        self.queues = QueueAdmin(store.client, store.keys)
        self.schedules = schedules
        self.remote = RemoteQueues(store)
        self.logs = TaskLogs(store)
        self.metrics = metrics or SchedulerMetrics()
        self.creates = CreateCoalescer(store)

    async def _create(self, new: NewTask) -> Created:
        created = await self.creates.create(new)
        if created.created:
            self.metrics.count_created_one(new.task_type)
        return created

    # --- creating ------------------------------------------------------------------

    async def CreateTask(self, request: pb.CreateTaskRequest, context: Context) -> Any:
        queues = await self._remote_queues((request,))
        return create_reply(await self._create(self.new_task(request, queues)))

    async def CreateSummarizeTask(
        self, request: pb.CreateSummarizeTaskRequest, context: Context
    ) -> Any:
        new = self.intake.summarize(request.content, idempotency_key=request.idempotency_key)
        created = await self._create(new)
        return pb.CreateSummarizeTaskResponse(
            task_id=created.task_id, state=PENDING, created=created.created
        )

    async def CreatePdfxtractTask(
        self, request: pb.CreatePdfxtractTaskRequest, context: Context
    ) -> Any:
        new = self.intake.pdfxtract(
            request.pdf,
            filename=request.filename,
            issue_date=request.issue_date,
            content_type=request.content_type,
            idempotency_key=request.idempotency_key,
        )
        created = await self._create(new)
        return pb.CreatePdfxtractTaskResponse(
            task_id=created.task_id, state=PENDING, created=created.created
        )

    async def CreatePdfxtractTaskStream(
        self, requests: AsyncIterator[pb.CreatePdfxtractTaskStreamRequest], context: Context
    ) -> Any:
        received = await uploads.receive(requests, self.intake.limits.max_payload_bytes)
        new = self.intake.pdfxtract(
            received.pdf,
            filename=received.upload.filename,
            issue_date=received.upload.issue_date,
            content_type=received.upload.content_type,
            idempotency_key=received.upload.idempotency_key,
        )
        created = await self._create(new)
        return pb.CreatePdfxtractTaskStreamResponse(
            task_id=created.task_id, state=PENDING, created=created.created
        )

    async def BatchCreateTasks(self, request: pb.BatchCreateTasksRequest, context: Context) -> Any:
        if not request.tasks:
            raise InvalidInput("tasks must not be empty")
        new_tasks = self.new_tasks(request, await self._remote_queues(request.tasks))
        return self.batch_reply(new_tasks, await self.store.create_many(new_tasks))

    def new_tasks(
        self, request: pb.BatchCreateTasksRequest, queues: Mapping[str, str]
    ) -> list[NewTask]:
        """A batch's tasks, each validated; InvalidInput names the first bad one."""
        new_tasks = []
        for index, item in enumerate(request.tasks):
            try:
                new_tasks.append(self.new_task(item, queues))
            except InvalidInput as exc:
                raise type(exc)(f"tasks[{index}]: {exc}") from None
        return new_tasks

    def batch_reply(self, new_tasks: list[NewTask], created: list[Created]) -> Any:
        """Counts a batch's created tasks; its reply."""
        self.metrics.count_created(zip(new_tasks, (c.created for c in created), strict=True))
        return pb.BatchCreateTasksResponse(tasks=[create_reply(c) for c in created])

    async def _remote_queues(self, requests: Iterable[pb.CreateTaskRequest]) -> dict[str, str]:
        """Named queues of the requested types that no handler here knows but a
        remote worker registered (one Redis read, none when every type is ours)."""
        unknown = {r.task_type for r in requests}.difference(registered_names())
        return await self.remote.queues_for(sorted(unknown)) if unknown else {}

    async def ListTaskTypes(self, request: pb.ListTaskTypesRequest, context: Context) -> Any:
        limits = self.intake.limits
        return pb.ListTaskTypesResponse(
            task_types=[
                pb.TaskTypeInfo(
                    name=kind.name,
                    description=(inspect.getdoc(kind.handler) or "").split("\n", 1)[0],
                    cpu_bound=kind.cpu_bound,
                    builtin=kind.handler.__module__.startswith(BUILTIN_PACKAGE),
                    validates_input=kind.validate is not None,
                    default_max_retries=limits.default_max_retries,
                    max_content_bytes=limits.max_content_bytes,
                    max_payload_bytes=limits.max_payload_bytes,
                    queue=kind.queue,
                    rate_limit=kind.limits.rate,
                    concurrency_limit=kind.limits.concurrency,
                    concurrency_key=kind.limits.concurrency_key,
                )
                for kind in registered_types()
            ]
        )

    def new_task(self, request: pb.CreateTaskRequest, queues: Mapping[str, str]) -> NewTask:
        return self.intake.task(
            request.task_type,
            request.content,
            metadata=(
                convert.struct_to_dict(request.metadata) if request.HasField("metadata") else {}
            ),
            max_retries=request.max_retries if request.HasField("max_retries") else None,
            priority=request.priority,
            idempotency_key=request.idempotency_key,
            payload=request.payload,
            run_at=convert.datetime_of(request, "run_at"),
            delay=request.delay.ToTimedelta() if request.HasField("delay") else None,
            queue=request.queue,
            remote_queue=queues.get(request.task_type, ""),
            retention=request.retention.ToTimedelta() if request.HasField("retention") else None,
        )

    # --- reading -------------------------------------------------------------------

    async def _check_listed_type(self, name: str) -> None:
        """A listing filter names a type registered here or by a remote worker;
        InvalidInput otherwise."""
        if name and name not in registered() and not await self.remote.queues_for([name]):
            task_type(name)  # raises InvalidInput naming the known types

    async def GetTask(self, request: pb.GetTaskRequest, context: Context) -> Any:
        return pb.GetTaskResponse(task=convert.task_to_proto(await self.store.get(request.task_id)))

    async def GetTaskLogs(self, request: pb.GetTaskLogsRequest, context: Context) -> Any:
        page = await self.logs.read(
            request.task_id, request.after_seq, _limit(request.limit, DEFAULT_LOG_LIMIT)
        )
        return pb.GetTaskLogsResponse(
            lines=[convert.log_line_to_proto(line) for line in page.lines],
            next_after_seq=page.next_after_seq,
            truncated=page.truncated,
            more=page.last_seq > page.next_after_seq,
        )

    async def ListTasks(self, request: pb.ListTasksRequest, context: Context) -> Any:
        await self._check_listed_type(request.task_type)
        page = await self.store.list_tasks(_query(request))
        return pb.ListTasksResponse(
            tasks=[convert.task_to_proto(t) for t in page.tasks], **_envelope(page, request)
        )

    async def ListTaskSummaries(
        self, request: pb.ListTaskSummariesRequest, context: Context
    ) -> Any:
        await self._check_listed_type(request.task_type)
        page = await self.store.list_tasks(_query(request))
        return pb.ListTaskSummariesResponse(
            tasks=[convert.task_summary_to_proto(t) for t in page.tasks],
            **_envelope(page, request),
        )

    async def ListQueueTasks(self, request: pb.ListQueueTasksRequest, context: Context) -> Any:
        try:
            queue = QueueName(request.queue_name)
        except ValueError:
            names = ", ".join(q.value for q in QueueName)
            raise NotFound(f"queue {quoted(request.queue_name)} does not exist ({names})") from None
        limit = _limit(request.limit, DEFAULT_QUEUE_LIMIT)
        return pb.ListQueueTasksResponse(task_ids=await self.store.queue_heads(queue, limit))

    async def ListDlqTasks(self, request: pb.ListDlqTasksRequest, context: Context) -> Any:
        tasks = await self.store.dlq_tasks(_limit(request.limit, DEFAULT_DLQ_LIMIT))
        return pb.ListDlqTasksResponse(tasks=[convert.task_to_proto(t) for t in tasks])

    # --- changing ------------------------------------------------------------------

    async def RetryTask(self, request: pb.RetryTaskRequest, context: Context) -> Any:
        await self.store.retry(request.task_id, reset_retry_count=request.reset_retry_count)
        return pb.RetryTaskResponse(task_id=request.task_id, state=PENDING)

    async def CancelTask(self, request: pb.CancelTaskRequest, context: Context) -> Any:
        state = await self.store.cancel(request.task_id)
        message = (
            f"Task {request.task_id} cancelled"
            if state is TaskState.CANCELLED
            else f"Task {request.task_id} is running; its worker is stopping it"
        )
        return pb.CancelTaskResponse(
            task_id=request.task_id, state=convert.state_to_proto(state), message=message
        )

    async def CancelTasks(self, request: pb.CancelTasksRequest, context: Context) -> Any:
        states = [s for s in map(convert.state_from_proto, request.states) if s is not None]
        if not states and not request.task_type and not request.queue:
            raise InvalidInput("give states, task_type and/or queue; refusing to cancel everything")
        wrong = [s.value for s in states if s not in CANCELLABLE_STATES]
        if wrong:
            raise InvalidInput(
                f"only PENDING, SCHEDULED or ACTIVE tasks can be cancelled, not {wrong}"
            )
        if request.queue and request.queue not in await self.queues.names():
            raise NotFound(f"queue {quoted(request.queue)} does not exist")
        cancelled, marked = await self.store.cancel_where(
            states or CANCELLABLE_STATES, request.task_type or None, request.queue or None
        )
        return pb.CancelTasksResponse(
            cancelled=cancelled,
            cancel_requested=marked,
            message=f"Cancelled {cancelled} tasks; asked workers to stop {marked} running ones",
        )

    async def DeleteTask(self, request: pb.DeleteTaskRequest, context: Context) -> Any:
        state = await self.store.delete(request.task_id)
        was = state.value if state is not None else "malformed, counted in no state"
        message = f"Task {request.task_id} deleted (was {was})"
        return pb.DeleteTaskResponse(task_id=request.task_id, message=message)

    async def RequeueOrphanedTasks(
        self, request: pb.RequeueOrphanedTasksRequest, context: Context
    ) -> Any:
        found, requeued = await self.store.requeue_orphans()
        errors = [] if found == requeued else [f"{found - requeued} changed state meanwhile"]
        message = f"Found {found} orphaned tasks, requeued {requeued}"
        return pb.RequeueOrphanedTasksResponse(
            found=found, requeued=requeued, errors=errors, message=message
        )

    async def CleanupTasks(self, request: pb.CleanupTasksRequest, context: Context) -> Any:
        states = [s for s in map(convert.state_from_proto, request.states) if s is not None]
        before = convert.datetime_of(request, "created_before")
        if not states and before is None:
            raise InvalidInput("give states and/or created_before; refusing to delete everything")
        deleted = await self.store.delete_where(states or list(TaskState), before)
        return pb.CleanupTasksResponse(deleted=deleted, message=f"Deleted {deleted} tasks")

    async def RetryAllDlqTasks(self, request: pb.RetryAllDlqTasksRequest, context: Context) -> Any:
        retried = await self.store.retry_all_dlq(reset_retry_count=request.reset_retry_count)
        return pb.RetryAllDlqTasksResponse(
            retried=retried, message=f"Sent {retried} DLQ tasks back to the retry queue"
        )

    async def PurgeDlq(self, request: pb.PurgeDlqRequest, context: Context) -> Any:
        purged = await self.store.purge_dlq()
        return pb.PurgeDlqResponse(purged=purged, message=f"Deleted {purged} DLQ tasks")


def create_reply(created: Created) -> pb.CreateTaskResponse:
    return pb.CreateTaskResponse(
        task_id=created.task_id,
        state=convert.state_to_proto(created.state),
        created=created.created,
    )


def _query(request: _Listing) -> TaskQuery:
    if request.sort_by not in SORTABLE:
        fields = ", ".join(SORTABLE[1:])
        raise InvalidInput(f"sort_by must be one of {fields}, not {quoted(request.sort_by)}")
    prefix = request.task_id.strip().lower()
    if prefix and not all(c in "0123456789abcdef-" for c in prefix):
        raise InvalidInput(f"task_id {quoted(request.task_id)} is not a task id or a prefix of one")
    return TaskQuery(
        state=convert.state_from_proto(request.status),
        task_type=request.task_type or None,
        queue=convert.queue_from_proto(request.queue),
        start=convert.datetime_of(request, "start_date"),
        end=convert.datetime_of(request, "end_date"),
        descending=request.sort_order != enums_pb2.SORT_ORDER_ASC,
        page=request.page or 1,
        page_size=request.page_size or 20,
        task_id_prefix=prefix or None,
    )


def _envelope(page: TaskPage, request: _Listing) -> dict[str, Any]:
    return {
        "page": page.page,
        "page_size": page.page_size,
        "total_items": page.total_items,
        "total_pages": page.total_pages,
        "status": request.status,
    }


def _limit(value: int, default: int) -> int:
    if value < 0 or value > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return value or default
