"""A remote worker: your handlers, run in this process, fed over WorkerService.

    worker = Worker("127.0.0.1:50052", queue="images")

    @worker.task("thumbnail")
    async def thumbnail(task: TaskContext) -> str: ...

    asyncio.run(worker.run())

One Work stream carries everything: the server sends tasks in batches as far as
the credit this worker grants (its free slots, plus room for `prefetch` tasks
waiting for one); outcomes go back in batches with the lease token each task came
with. The server renews the leases while the
stream is open, and tells the worker which tasks a client cancelled: their
handlers are cancelled and reported `cancelled`.

If the stream breaks (the executor restarts, the network drops), the worker
reconnects with exponential back-off and registers again, naming the tasks it
still runs, so the new stream renews their leases and takes their outcomes. A
task whose lease lapsed meanwhile was requeued: its handler is cancelled and
anything it sends is refused (counted in `refused`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import json
import logging
import os
import platform
import random
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from taskflow_client.channels import open_channel
from taskflow_client.context import TaskContext
from taskflow_client.errors import PermanentError, TaskError, from_rpc_error
from taskflow_client.v1 import worker_service_pb2 as pb
from taskflow_client.v1 import worker_service_pb2_grpc

if TYPE_CHECKING:
    from taskflow_client.v1.worker_service_pb2_grpc import WorkerServiceAsyncStub

log = logging.getLogger("taskflow_client.worker")
Handler = Callable[["TaskContext"], Any]
H = TypeVar("H", bound=Handler)
# Errors after which reconnecting cannot help.
FATAL = (
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNIMPLEMENTED,
)


@dataclass
class WorkerStats:
    completed: int = 0  # outcomes accepted as COMPLETED
    failed: int = 0  # failure outcomes accepted
    refused: int = 0  # outcomes refused: lease lost or task gone
    cancelled: int = 0  # handlers stopped because the server said so
    reconnects: int = 0  # streams opened again after one broke


@dataclass
class _Run:
    """A held task: its lease, what its handler is given, and the handler's asyncio
    task once started (a prefetched task waits for a slot first)."""

    lease_token: str
    context: TaskContext
    runner: asyncio.Task[None] | None = None


class Worker:
    """Runs registered handlers for tasks of the executor at `address`."""

    def __init__(
        self,
        address: str = "127.0.0.1:50052",
        *,
        queue: str = "default",
        concurrency: int = 8,
        prefetch: int = 0,
        worker_id: str | None = None,
        token: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 30.0,
    ) -> None:
        self.address = address
        self.queue = queue
        self.concurrency = concurrency
        # Tasks held ready beyond the running ones, each started when a slot frees: for
        # short tasks, the next batch is at hand while the last one's outcomes travel.
        # They are ACTIVE and leased before their handlers start: a client's cancel ends
        # one without running it, stopping hands them back at once, and a SIGKILLed
        # worker's come back when their leases lapse. 0 (the default) for long tasks.
        self.prefetch = max(prefetch, 0)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stats = WorkerStats()
        self._credentials = credentials
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._backoff = (reconnect_delay, max_reconnect_delay)
        self._failures = 0  # streams broken in a row, without a registration between
        self._handlers: dict[str, Handler] = {}
        self._limits: dict[str, pb.TaskTypeLimits] = {}
        self._running: dict[str, _Run] = {}  # held: running, and prefetched in _ready
        self._ready: collections.deque[_Run] = collections.deque()
        self._active = 0  # handlers started and not yet settled
        self._winding_down = False
        self._stub: WorkerServiceAsyncStub | None = None
        self._outcomes: list[pb.TaskOutcome] = []
        # Sent but not acknowledged: sent again on the next stream if this one breaks.
        self._unacked: dict[str, pb.TaskOutcome] = {}
        self._outcome_ready = asyncio.Event()
        self._requests: asyncio.Queue[pb.WorkRequest | None] = asyncio.Queue()
        self._freed = 0
        # Handlers of rate-limited types started this loop turn, not yet reported.
        self._starts: list[pb.TaskLease] = []

    def task(
        self,
        task_type: str,
        *,
        rate_limit: str = "",
        concurrency: int = 0,
        concurrency_key: str = "",
    ) -> Callable[[H], H]:
        """Decorator: `fn` handles tasks of `task_type` (async or plain function;
        a plain one runs in a thread). Its return value is the result: text, or
        anything JSON-serialisable. Raise TaskError/PermanentError to choose the
        retry schedule or the DLQ; any other exception retries on the default one.

        Cluster-wide limits of the type, declared at registration and enforced by
        the server's claim: `rate_limit` ("100/s", "10/m", "5/2s") and `concurrency`
        (tasks running at once, per value of `concurrency_key` such as
        "metadata.tenant" when given). A task held back waits; it is not a failure."""

        def register(handler: H) -> H:
            self._handlers[task_type] = handler
            if rate_limit or concurrency or concurrency_key:
                self._limits[task_type] = pb.TaskTypeLimits(
                    task_type=task_type,
                    rate_limit=rate_limit,
                    concurrency_limit=concurrency,
                    concurrency_key=concurrency_key,
                )
            return handler

        return register

    async def run(self, stop: asyncio.Event | None = None, *, grace: float = 25.0) -> None:
        """Work until `stop` is set (or SIGINT/SIGTERM when none is given), then let
        running tasks finish within `grace` seconds and hand the rest back."""
        if not self._handlers:
            raise ValueError("register at least one handler with @worker.task(...)")
        stop = stop or _stop_on_signals()
        async with open_channel(self.address, self._credentials) as channel:
            stub: WorkerServiceAsyncStub = worker_service_pb2_grpc.WorkerServiceStub(channel)
            self._stub = stub
            while not stop.is_set():
                try:
                    await self._session(stub, stop, grace)
                except grpc.aio.AioRpcError as error:
                    if error.code() in FATAL:
                        raise from_rpc_error(error) from None
                    delay = self._next_delay()
                    log.warning(
                        "event=stream_broken worker_id=%s code=%s detail=%r retry_in=%.2f",
                        self.worker_id, error.code().name, error.details(), delay,
                    )  # fmt: skip
                    await _sleep_unless(stop, delay)
                    self.stats.reconnects += 1

    def _next_delay(self) -> float:
        """Exponential back-off with full jitter, from the first delay up to the cap."""
        first, cap = self._backoff
        self._failures += 1
        return random.uniform(first / 2, min(cap, first * 2 ** (self._failures - 1)))

    async def _session(
        self, stub: WorkerServiceAsyncStub, stop: asyncio.Event, grace: float
    ) -> None:
        self._requests = asyncio.Queue()
        call = stub.Work(self._request_stream(), metadata=self._metadata)
        self._send(
            pb.WorkRequest(
                register=pb.WorkerRegistration(
                    worker_id=self.worker_id,
                    task_types=sorted(self._handlers),
                    queue=self.queue,
                    concurrency=self.concurrency,
                    prefetch=self.prefetch,
                    limits=[self._limits[name] for name in sorted(self._limits)],
                    runtime=f"python/{platform.python_version()} asynctaskflow-client",
                    holding=[
                        pb.TaskLease(task_id=task_id, lease_token=run.lease_token)
                        for task_id, run in self._running.items()
                    ],
                )
            )
        )
        reader = asyncio.create_task(self._read(call), name="taskflow-reader")
        self._freed = 0
        self._winding_down = False
        self._outcomes[:0] = self._unacked.values()
        self._unacked.clear()
        self._flush(credit=self.concurrency + self.prefetch - len(self._running))
        stopping = asyncio.create_task(stop.wait())
        try:
            while not reader.done():
                ready = asyncio.create_task(self._outcome_ready.wait())
                await asyncio.wait([reader, ready, stopping], return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if stopping.done():
                    await self._wind_down(grace)
                    break
                self._flush(credit=self._freed)
                # Prefetched tasks start after the outcomes are sent, so theirs go in a
                # batch of their own while this one's round trip is on its way.
                self._fill()
            if reader.done():
                reader.result()
        finally:
            stopping.cancel()
            self._send(None)
            if not reader.done():
                await reader

    async def _request_stream(self) -> AsyncIterator[pb.WorkRequest]:
        requests = self._requests
        while (request := await requests.get()) is not None:
            yield request

    def _send(self, request: pb.WorkRequest | None) -> None:
        self._requests.put_nowait(request)

    def _flush(self, *, credit: int) -> None:
        """Send the outcomes gathered so far in one batch, with the slots freed."""
        self._outcome_ready.clear()
        slots = max(credit, 0)
        self._freed -= min(slots, self._freed)
        if not self._outcomes:
            if slots:
                self._send(pb.WorkRequest(credit=pb.WorkCredit(slots=slots)))
            return
        # The credit rides with the outcomes: the server records them and claims the
        # next batch in one round trip, and acks them with that batch.
        batch, self._outcomes = self._outcomes, []
        self._unacked.update((outcome.task_id, outcome) for outcome in batch)
        self._send(pb.WorkRequest(outcomes=pb.TaskOutcomes(outcomes=batch, slots=slots)))

    async def _read(self, call: Any) -> None:
        async for response in call:
            kind = response.WhichOneof("kind")
            if kind == "registered":
                self._failures = 0
            elif kind == "tasks":
                for ack in response.tasks.acks:
                    self._count(ack)
                for task in response.tasks.tasks:
                    self._start(task)
            elif kind == "acks":
                for ack in response.acks.acks:
                    self._count(ack)
            elif kind == "cancel":
                for task_id in response.cancel.task_ids:
                    self._cancel(task_id, requested=response.cancel.requested)

    def _cancel(self, task_id: str, *, requested: bool) -> None:
        """Stop a handler: a client cancelled its task (`requested`: report it
        cancelled), or its lease is lost (report nothing: it would be refused)."""
        run = self._running.get(task_id)
        if run is None:
            return
        self.stats.cancelled += 1
        run.context._cancelled = requested
        if run.runner is None:  # prefetched, never started: it never will be
            self._running.pop(task_id)
            if requested:
                outcome = pb.TaskOutcome(task_id=task_id, lease_token=run.lease_token)
                outcome.cancelled = True
                self._outcomes.append(outcome)
            self._freed += 1
            self._outcome_ready.set()
            return
        if not requested:
            self._running.pop(task_id, None)
            self._freed += 1
            self._outcome_ready.set()
        run.runner.cancel()

    def _count(self, ack: pb.OutcomeAck) -> None:
        self._unacked.pop(ack.task_id, None)
        if ack.status != pb.OUTCOME_STATUS_ACCEPTED:
            self.stats.refused += 1
            log.warning("event=outcome_refused task_id=%s status=%s", ack.task_id,
                        pb.OutcomeStatus.Name(ack.status))  # fmt: skip
        elif ack.state == 3:  # TASK_STATE_COMPLETED
            self.stats.completed += 1
        elif ack.state == 7:  # TASK_STATE_CANCELLED
            pass  # counted in `cancelled` when the server asked
        else:
            self.stats.failed += 1

    def _start(self, task: pb.AssignedTask) -> None:
        loop = asyncio.get_running_loop()

        def report(progress: pb.TaskProgress) -> None:
            request = pb.WorkRequest(progress=progress)
            loop.call_soon_threadsafe(self._send, request)  # from a thread, too

        context = TaskContext(
            task_id=task.task_id,
            task_type=task.task_type,
            content=task.content,
            metadata=_metadata(task.metadata_json),
            retry_count=task.retry_count,
            _report=report,
            _lease_token=task.lease_token,
            _fetch_payload=lambda: self._payload(task.task_id, task.lease_token),
        )
        run = self._running[task.task_id] = _Run(task.lease_token, context)
        if self._active < self.concurrency:
            self._launch(run)
        elif self._winding_down:
            self._hand_back([(task.task_id, run)])
        else:
            self._ready.append(run)

    def _launch(self, run: _Run) -> None:
        self._active += 1
        run.runner = asyncio.create_task(self._execute(run.context, run.lease_token))

    def _fill(self) -> None:
        """Prefetched tasks still held take the free slots."""
        while self._active < self.concurrency and self._ready:
            run = self._ready.popleft()
            if self._running.get(run.context.task_id) is run:
                self._launch(run)

    async def _payload(self, task_id: str, lease_token: str) -> bytes:
        if self._stub is None:
            raise RuntimeError("the worker is not running")
        request = pb.GetTaskPayloadRequest(task_id=task_id, lease_token=lease_token)
        chunks: list[bytes] = []
        try:
            async for chunk in self._stub.GetTaskPayload(request, metadata=self._metadata):
                chunks.append(chunk.data)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return b"".join(chunks)

    async def _execute(self, context: TaskContext, lease_token: str) -> None:
        try:
            await self._run_handler(context, lease_token)
        finally:
            self._active -= 1

    async def _run_handler(self, context: TaskContext, lease_token: str) -> None:
        outcome = pb.TaskOutcome(task_id=context.task_id, lease_token=lease_token)
        self._started(context, lease_token)
        try:
            outcome.completed = await self._call(context)
        except asyncio.CancelledError:
            if not context.cancelled:  # the lease is lost, or the worker is stopping
                raise
            outcome.cancelled = True
        except TaskError as error:
            outcome.failed.CopyFrom(
                pb.TaskFailure(
                    error=str(error) or error.error_type,
                    error_type=error.error_type,
                    permanent=error.permanent,
                    retry_after_seconds=error.retry_after or 0.0,
                )
            )
        except Exception as error:
            outcome.failed.CopyFrom(
                pb.TaskFailure(error=f"{type(error).__name__}: {error}", error_type="Default")
            )
        if self._running.pop(context.task_id, None) is None:
            return  # its lease was lost meanwhile: the outcome would be refused
        self._outcomes.append(outcome)
        self._freed += 1
        self._outcome_ready.set()

    def _started(self, context: TaskContext, lease_token: str) -> None:
        """A rate limit counts each token from its handler's start, as the server's
        own workers report it: a task of a rate-limited type is reported as its
        handler starts, those starting in one loop turn in one message."""
        limits = self._limits.get(context.task_type)
        if limits is None or not limits.rate_limit:
            return
        if not self._starts:
            asyncio.get_running_loop().call_soon(self._send_starts)
        self._starts.append(pb.TaskLease(task_id=context.task_id, lease_token=lease_token))

    def _send_starts(self) -> None:
        starts, self._starts = self._starts, []
        self._send(pb.WorkRequest(started=pb.TaskStarts(tasks=starts)))

    async def _call(self, context: TaskContext) -> str:
        handler = self._handlers.get(context.task_type)
        if handler is None:
            raise PermanentError(f"no handler for {context.task_type!r}")
        if inspect.iscoroutinefunction(handler):
            value = await handler(context)
        else:
            value = await asyncio.to_thread(handler, context)
            if inspect.isawaitable(value):
                value = await value
        return value if isinstance(value, str) else json.dumps(value)

    async def _wind_down(self, grace: float) -> None:
        """Stop taking tasks; hand back prefetched ones at once; let running ones
        finish within `grace`; hand back the rest."""
        self._winding_down = True
        self._ready.clear()
        self._hand_back([(i, run) for i, run in self._running.items() if run.runner is None])
        runners = [run.runner for run in self._running.values() if run.runner is not None]
        if runners:
            await asyncio.wait(runners, timeout=grace)
        leftovers = list(self._running.items())
        for _, run in leftovers:
            if run.runner is not None:
                run.runner.cancel()
        await asyncio.gather(
            *(run.runner for _, run in leftovers if run.runner is not None),
            return_exceptions=True,
        )
        self._flush(credit=0)
        self._hand_back(leftovers)

    def _hand_back(self, runs: list[tuple[str, _Run]]) -> None:
        """Held tasks this worker will not finish: no longer its own, back to their queue."""
        for task_id, _ in runs:
            self._running.pop(task_id, None)
        if runs:
            leases = [pb.TaskLease(task_id=i, lease_token=run.lease_token) for i, run in runs]
            self._send(pb.WorkRequest(release=pb.ReleaseTasks(tasks=leases)))


def _metadata(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
