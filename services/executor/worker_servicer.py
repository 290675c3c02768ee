"""WorkerService over gRPC: remote workers in any language (see worker_service.proto).

Thin: it turns messages into calls on a RemoteSession and the session's messages
into responses; the session and the store do the work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from grpc import aio

from services.executor.remote_limits import RemoteStarts, declare_remote_limits
from services.executor.remote_session import (
    Ack,
    Acks,
    Assigned,
    Cancelled,
    Failure,
    Heartbeat,
    Message,
    Outcome,
    RemoteSession,
    SessionConfig,
)
from taskflow.errors import InvalidInput, LeaseLost, NotFound
from taskflow.logs import redactor
from taskflow.rpc import convert
from taskflow.store import TaskState, TaskStore
from taskflow.store.payloads import held_payload
from taskflow.store.remote import RemoteQueues
from taskflow.store.task_logs import LogLine
from taskflow.store.tasks import check_task_id
from taskflow.v1 import enums_pb2
from taskflow.v1 import worker_service_pb2 as pb
from taskflow.v1.worker_service_pb2_grpc import WorkerServiceServicer

log = logging.getLogger(__name__)
Context = aio.ServicerContext[Any, Any]
DEFAULT_QUEUE = "default"
# Bytes per GetTaskPayload message: well under gRPC's default 4 MiB limit.
PAYLOAD_CHUNK = 1024 * 1024
_COMPLETED = convert.state_to_proto(TaskState.COMPLETED)


class WorkerServicer(WorkerServiceServicer):
    def __init__(
        self,
        store: TaskStore,
        executor_id: str,
        *,
        heartbeat_s: float,
        retry_delay_scale: float,
        is_paused: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.executor_id = executor_id
        self.heartbeat_s = heartbeat_s
        self.retry_delay_scale = retry_delay_scale
        self.is_paused = is_paused

    async def Work(
        self, request_iterator: AsyncIterator[pb.WorkRequest], context: Context
    ) -> AsyncIterator[pb.WorkResponse]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("kind") != "register":
            raise InvalidInput("the first message of a Work stream must be `register`")
        session = await self._open(first.register)
        yield pb.WorkResponse(
            registered=pb.WorkerRegistered(
                worker_id=session.config.worker_id,
                lease_seconds=self.store.config.lease_ms / 1000,
                heartbeat_seconds=self.heartbeat_s,
            )
        )
        stop = asyncio.Event()
        running = asyncio.create_task(session.run(stop), name="remote-session")
        reader = asyncio.create_task(_read(request_iterator, session), name="remote-reader")
        # Either ending (the stream closed, or a Redis error ended the session: the
        # worker reconnects and sends its outcomes again) ends the outbox, so waiting
        # for the next message is one queue get, not a wait on three futures.
        for ending in (running, reader):
            ending.add_done_callback(lambda _: session.outbox.put_nowait(None))
        try:
            while (message := await session.outbox.get()) is not None:
                yield _response(message)
            if reader.done():
                reader.result()
            else:
                running.result()
        finally:
            stop.set()
            reader.cancel()
            # The session ends on its own within a wake-up wait; the stream need not.
            running.add_done_callback(_log_end(session.config.worker_id))

    async def _open(self, registration: pb.WorkerRegistration) -> RemoteSession:
        queue = registration.queue or DEFAULT_QUEUE
        task_types = list(registration.task_types)
        if not task_types:
            raise InvalidInput("register at least one task type")
        await declare_remote_limits(self.store, registration, f"remote worker {queue}")
        await RemoteQueues(self.store).register(task_types, queue)
        config = SessionConfig(
            worker_id=registration.worker_id or f"remote-{uuid.uuid4().hex[:12]}",
            queue=queue,
            task_types=tuple(task_types),
            executor_id=self.executor_id,
            heartbeat_s=self.heartbeat_s,
            retry_delay_scale=self.retry_delay_scale,
            concurrency=registration.concurrency,
            prefetch=registration.prefetch,
            runtime=registration.runtime,
        )
        log.info("event=remote_worker_registered worker_id=%s queue=%s task_types=%s runtime=%r",
                 config.worker_id, queue, ",".join(task_types), config.runtime)  # fmt: skip
        session = RemoteSession(self.store, config, is_paused=self.is_paused)
        if registration.holding:
            await session.adopt([(t.task_id, t.lease_token) for t in registration.holding])
        return session

    async def CompleteTask(self, request: pb.CompleteTaskRequest, context: Context) -> Any:
        outcome = Outcome(check_task_id(request.task_id), request.lease_token, request.result)
        state = await self._record_one(outcome)
        return pb.CompleteTaskResponse(state=convert.state_to_proto(state))

    async def FailTask(self, request: pb.FailTaskRequest, context: Context) -> Any:
        outcome = Outcome(
            check_task_id(request.task_id), request.lease_token, failure=_failure(request.failure)
        )
        state = await self._record_one(outcome)
        return pb.FailTaskResponse(state=convert.state_to_proto(state))

    async def GetTaskPayload(
        self, request: pb.GetTaskPayloadRequest, context: Context
    ) -> AsyncIterator[pb.GetTaskPayloadResponse]:
        task_id = check_task_id(request.task_id)
        payload = await held_payload(self.store, task_id, request.lease_token)
        view = memoryview(payload)
        for start in range(0, len(payload), PAYLOAD_CHUNK):
            chunk = bytes(view[start : start + PAYLOAD_CHUNK])
            yield pb.GetTaskPayloadResponse(data=chunk, total_bytes=len(payload))

    async def _record_one(self, outcome: Outcome) -> Any:
        session = RemoteSession(
            self.store,
            SessionConfig("", "", self.executor_id, self.heartbeat_s, self.retry_delay_scale),
        )
        (ack,) = await session.record([outcome])
        if ack.error is not None:
            raise ack.error
        return ack.state


async def _read(requests: AsyncIterator[pb.WorkRequest], session: RemoteSession) -> None:
    starts = RemoteStarts(session.store)
    async for request in requests:
        kind = request.WhichOneof("kind")
        if kind == "credit":
            session.grant(request.credit.slots)
        elif kind == "outcomes":
            batch = request.outcomes
            session.submit([_outcome(o) for o in batch.outcomes], batch.slots)
        elif kind == "progress":
            p = request.progress
            session.progress(p.task_id, p.fraction, p.message)
            await session.log(p.task_id, _log_lines(p))
        elif kind == "started":
            await starts.record(request.started.tasks)
        elif kind == "release":
            await session.release([(t.task_id, t.lease_token) for t in request.release.tasks])
        else:
            raise InvalidInput(f"unexpected {kind!r} message on a registered Work stream")


def _outcome(message: pb.TaskOutcome) -> Outcome:
    result = message.WhichOneof("result")
    if result == "failed":
        return Outcome(message.task_id, message.lease_token, None, _failure(message.failed))
    if result == "cancelled":
        return Outcome(message.task_id, message.lease_token, None, None, True)
    return Outcome(message.task_id, message.lease_token, message.completed)


def _log_lines(message: pb.TaskProgress) -> list[LogLine]:
    """Plain lines (INFO, now, logger "remote") first, then the entries as sent;
    masked as our own handlers' lines are (a remote handler may log a bearer token)."""
    now = datetime.now(UTC)
    mask = redactor().redact
    lines = [LogLine(now, "INFO", "remote", mask(text)) for text in message.log_lines]
    for entry in message.log_entries:
        time = entry.time.ToDatetime(UTC) if entry.HasField("time") else now
        lines.append(LogLine(time, entry.level or "INFO", entry.logger, mask(entry.message)))
    return lines


def _failure(message: pb.TaskFailure) -> Failure:
    return Failure(
        message.error, message.error_type, message.permanent, max(message.retry_after_seconds, 0)
    )


def _response(message: Message) -> pb.WorkResponse:
    response = pb.WorkResponse()
    if isinstance(message, Assigned):
        # Built in place (add), not as messages copied into their lists: one per task.
        batch = response.tasks
        add_task = batch.tasks.add
        for t in message.tasks:
            add_task(task_id=t.task_id, task_type=t.task_type, content=t.content,
                     metadata_json=t.metadata_json, retry_count=t.retry_count,
                     lease_token=t.lease_token)  # fmt: skip
        _add_acks(batch.acks, message.acks)
        if not message.tasks and not message.acks:
            batch.SetInParent()
        return response
    if isinstance(message, Acks):
        _add_acks(response.acks.acks, message.acks)
        response.acks.SetInParent()
        return response
    if isinstance(message, Cancelled):
        return pb.WorkResponse(
            cancel=pb.CancelTasks(
                task_ids=message.task_ids, reason=message.reason, requested=message.requested
            )
        )
    assert isinstance(message, Heartbeat)
    return pb.WorkResponse(heartbeat=pb.WorkHeartbeat())


def _add_acks(acks: Any, sent: list[Ack]) -> None:
    add = acks.add
    for ack in sent:
        if ack.error is None and ack.state is TaskState.COMPLETED:  # most of them
            add(task_id=ack.task_id, status=pb.OUTCOME_STATUS_ACCEPTED, state=_COMPLETED)
            continue
        status = pb.OUTCOME_STATUS_ACCEPTED
        if isinstance(ack.error, LeaseLost):
            status = pb.OUTCOME_STATUS_LEASE_LOST
        elif isinstance(ack.error, NotFound):
            status = pb.OUTCOME_STATUS_NOT_FOUND
        state = convert.state_to_proto(ack.state) if ack.state else enums_pb2.TASK_STATE_UNSPECIFIED
        add(task_id=ack.task_id, status=status, state=state)


def _log_end(worker_id: str) -> Callable[[asyncio.Task[None]], None]:
    def ended(task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning("event=remote_session_failed worker_id=%s error=%r", worker_id, str(error))
        else:
            log.info("event=remote_worker_left worker_id=%s", worker_id)

    return ended
