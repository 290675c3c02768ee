"""One worker: C concurrent slots in one asyncio loop, fed by the store's claim.

Every claimed task sits under a lease this worker renews with its heartbeat. On
stop it claims nothing more, lets running tasks finish within the grace period,
and hands the rest back to the head of their queue.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.executor.completer import Completer
from services.executor.failures import describe
from services.executor.metrics import ExecutorMetrics
from services.executor.progress import ProgressReporter
from services.executor.retry_policy import classify
from services.executor.start_gate import LATE_START, StartGate
from services.executor.task_logs import TaskLogCapture
from taskflow.aio import sleep_unless
from taskflow.errors import CorruptTask, LeaseLost, NotFound
from taskflow.queue_spec import QueueWeights
from taskflow.store import ClaimedTask, TaskState, TaskStore
from taskflow.store.keys import DEFAULT_QUEUE
from taskflow.store.limits import LimitStore
from taskflow.store.workers import WorkerRegistry
from taskflow.tasks import NetworkTimeout, Parked, PermanentError, TaskContext, task_type
from taskflow.tasks.registry import CancelSignal, rate_limited, registered

log = logging.getLogger(__name__)
# How long an idle worker blocks waiting for a wake-up before it looks again.
IDLE_WAIT_S = 1.0
# Lanes of slots: the concurrency is split between them, and each lane claims and
# completes through its own round trip, so one lane's is in flight while the other's
# handlers run. With one, the executor and Redis took turns (each idle while the
# other worked); two drained a quiet 2-core machine 1.5x faster (docs/performance.md,
# "Two lanes of slots").
LANES = 2
# Redis unreachable: expected during a restart or failover, so a one-line warning
# rather than a traceback per attempt.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
# How often a worker running tasks asks whether a client cancelled any of them: a
# cancel reaches the handler within this (plus one round trip). Handlers past their
# time limit are stopped on the same beat.
CANCEL_POLL_S = 0.25
# Saving an outcome is retried with backoff up to this delay between attempts.
SAVE_RETRY_MAX_DELAY_S = 2.0
T = TypeVar("T")
# The metrics' outcome of a task whose result or failure could not be saved.
DISCARDED = "discarded"


# Taken when a task's progress reporter is made (its first report, maybe from a
# CPU-bound handler's thread) and when its handler ends.
_REPORTER_LOCK = threading.Lock()


class OutcomeDropped(Exception):
    """Redis stayed unreachable for a lease: the task will be requeued and rerun."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class _Run:
    """One claimed task in this worker: its handler's asyncio task and what the
    worker's loops need to know of it (one record, in one dict, per task)."""

    __slots__ = (
        "claim", "deadline", "lane", "reporter", "runner", "saving", "signal", "started",
        "timed_out",
    )  # fmt: skip
    # The handler's, set as soon as it is made; then the retries of its result's
    # save, if the first found Redis unreachable.
    runner: asyncio.Task[None]

    def __init__(self, claim: ClaimedTask, lane: int) -> None:
        self.claim = claim
        self.lane = lane
        self.signal = CancelSignal()
        self.deadline = math.inf  # loop.time() past which the handler is stopped
        self.timed_out = False  # the worker stopped the handler at its time limit
        self.reporter: ProgressReporter | None = None  # made on the first report
        self.started = 0.0  # time.perf_counter() when it started, for the metrics
        self.saving = False  # its result is on its way to Redis (Completer)


@dataclass
class WorkerConfig:
    concurrency: int = 32  # Settings.worker_concurrency says why
    task_time_limit_s: float = 600.0
    heartbeat_s: float = 5.0
    shutdown_grace_s: float = 25.0
    executor_id: str = ""
    retry_delay_scale: float = 1.0
    # The queues consumed, with their weights (taskflow/queue_spec.py).
    queues: QueueWeights = ((DEFAULT_QUEUE, 1),)
    worker_id: str = field(default_factory=new_worker_id)


class Worker:
    def __init__(
        self,
        store: TaskStore,
        config: WorkerConfig,
        *,
        is_paused: Callable[[], bool] = lambda: False,
        services: Mapping[str, Any] | None = None,
        metrics: ExecutorMetrics | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.worker_id = config.worker_id
        self.registry = WorkerRegistry(store.client, store.keys)
        self._is_paused = is_paused
        self._services = services or {}
        self._runs: dict[str, _Run] = {}
        # Lanes of slots, each with its own claim and round trip, so one lane's round
        # trip is in flight while the other's handlers run; per lane, the handlers
        # running (a slot is taken until its handler returns) and a wake-up when one
        # returns.
        self._lanes = [Completer(store, self.worker_id) for _ in range(LANES)]
        self._busy = [0] * LANES
        self._slot_free = [asyncio.Event() for _ in range(LANES)]
        self._gate = StartGate(LimitStore(store.client, store.config.prefix), rate_limited)
        self._started_at = time.time()
        self.metrics = metrics or ExecutorMetrics()
        self.metrics.in_flight.set_function(lambda: self.in_flight)
        self._queue_names = [name for name, _ in config.queues]
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def in_flight(self) -> int:
        return len(self._runs)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then shut down gracefully.

        Loops watch `stop` rather than being cancelled: cancelling a Redis call
        mid-flight (a blocking BLPOP above all) can leave redis-py hanging.
        """
        log.info(
            "event=worker_started worker_id=%s concurrency=%d",
            self.worker_id, self.config.concurrency,
        )  # fmt: skip
        await self._beat()
        loop = asyncio.get_running_loop()
        self._loop = loop
        # Fetch loops waiting for a free slot wake up to see `stop`.
        stopping = loop.create_task(stop.wait())
        stopping.add_done_callback(self._wake_fetch_loops)
        # Completions and lease renewals go on while running tasks drain.
        drained = asyncio.Event()
        completers = [
            asyncio.create_task(lane.run(), name=f"completer-{i}")
            for i, lane in enumerate(self._lanes)
        ]
        heartbeat = asyncio.create_task(self._heartbeat_loop(drained), name="heartbeat")
        cancels = asyncio.create_task(self._cancel_loop(drained), name="cancel-watch")
        starts = asyncio.create_task(self._gate.run(drained), name="start-reports")
        await asyncio.gather(*(self._fetch_loop(stop, lane) for lane in range(LANES)))
        await stopping
        await self._drain()
        drained.set()
        for completer in self._lanes:
            completer.close()
        await asyncio.gather(*completers, heartbeat, cancels, starts)
        for completer in self._lanes:
            await completer.flush()
        # Results whose last batch found Redis unreachable: retried for up to a lease.
        await asyncio.gather(*(run.runner for run in list(self._runs.values())))
        await self.registry.leave(self.worker_id)
        log.info("event=worker_stopped worker_id=%s", self.worker_id)

    def _wake_fetch_loops(self, _: object) -> None:
        for free in self._slot_free:
            free.set()

    def _lane_slots(self, lane: int) -> int:
        base, extra = divmod(self.config.concurrency, LANES)
        return base + (1 if lane < extra else 0)

    async def _fetch_loop(self, stop: asyncio.Event, lane: int) -> None:
        if self._lane_slots(lane) == 0:
            return
        while not stop.is_set():
            if self._is_paused():
                await sleep_unless(stop, 0.2)
                continue
            free = self._lane_slots(lane) - self._busy[lane]
            if free <= 0:
                self._slot_free[lane].clear()
                await self._slot_free[lane].wait()
                continue
            try:
                asked_at = time.monotonic()
                claims = await self._lanes[lane].claim(free, self.config.queues, registered())
                self._gate.claimed(claims, asked_at)
            except Exception as error:
                self._log_redis_error("claim_failed", error)
                await sleep_unless(stop, 1.0)
                continue
            if claims:
                self.metrics.claim_batch.observe(len(claims))
                self._start(claims, lane)
            # A claim that ran the lists dry (even one that took tasks) says so, with
            # the next due time: no second claim to find them empty, and no round trip
            # to read the due time before blocking on the wake-up list.
            if claims and not claims.drained:
                continue
            try:
                await self.registry.wait_for_work(IDLE_WAIT_S, self._queue_names, drained=claims)
            except Exception as error:
                self._log_redis_error("claim_failed", error)
                await sleep_unless(stop, 1.0)

    def _start(self, claims: list[ClaimedTask], lane: int) -> None:
        loop = asyncio.get_running_loop()
        for claim in claims:
            run = _Run(claim, lane)
            run.runner = loop.create_task(self._execute(run))
            self._runs[claim.task_id] = run
            self._busy[lane] += 1
            run.runner.add_done_callback(functools.partial(self._finished, run))

    def _handler_done(self, run: _Run) -> None:
        """The task's slot frees once its handler has returned (or it will not run):
        a task whose outcome is still being saved holds no slot, so the claim for its
        successor rides in the same round trip as its completion (Completer)."""
        if not run.signal.handler_done:
            run.signal.handler_done = True
            self._busy[run.lane] -= 1
            self._slot_free[run.lane].set()

    def _finished(self, run: _Run, _: asyncio.Task[None]) -> None:
        self._handler_done(run)
        # A result being saved keeps its task here (its lease renewed) until saved.
        if not run.saving:
            self._runs.pop(run.claim.task_id, None)

    async def _execute(self, run: _Run) -> None:
        claim, signal = run.claim, run.signal
        run.started = started = time.perf_counter()
        if not self._gate.in_time(claim):
            await self._park(claim, Parked(LATE_START, hold_s=0.0))
            return
        try:
            result = await self._call_handler(run)
        except asyncio.CancelledError:
            if signal.interrupted:
                await self._cancelled(claim, started)
                return
            raise  # shutdown or a lost lease: the caller decides what happens to it
        except Parked as held:
            if signal.interrupted:
                await self._cancelled(claim, started)
            else:
                await self._park(claim, held)
            return
        except Exception as error:
            if signal.interrupted:  # its clean-up failed: it was still cancelled
                await self._cancelled(claim, started)
            else:
                outcome = await self._fail(claim, error)
                self.metrics.ran(claim.task_type, outcome, time.perf_counter() - started)
            return
        if signal.interrupted:  # the handler caught the cancellation and returned
            await self._cancelled(claim, started)
            return
        # The result goes with the lane's next batch, and this asyncio task ends
        # here: _result_saved hears how it went (no task waiting, and waking, per task).
        run.saving = True
        self._lanes[run.lane].complete_soon(
            claim, result, functools.partial(self._result_saved, run, result)
        )

    def _result_saved(self, run: _Run, result: str, error: Exception | None) -> None:
        """The completer's answer for one result: saved, refused, or not sent."""
        if error is None:
            self._completed(run)
        elif isinstance(error, REDIS_DOWN):
            # Retried like any outcome (_save); the retries stand in for the task's
            # runner (a lost lease or the shutdown's hand-back cancels them).
            run.runner = asyncio.get_running_loop().create_task(self._retry_result(run, result))
        else:
            self._discarded(run, error)

    async def _retry_result(self, run: _Run, result: str) -> None:
        lane = self._lanes[run.lane]
        try:
            await self._save("result", run.claim, lambda: lane.complete(run.claim, result))
        except Exception as error:
            self._discarded(run, error)
        else:
            self._completed(run)
        finally:
            self._runs.pop(run.claim.task_id, None)

    def _discarded(self, run: _Run, error: Exception) -> None:
        """A result that will not be saved: why, in the log (a lease lost or the task
        gone is expected; OutcomeDropped was logged by _save), and counted."""
        task_id = run.claim.task_id
        if isinstance(error, (LeaseLost, NotFound)):
            log.warning("event=result_discarded task_id=%s reason=%r", task_id, str(error))
        elif not isinstance(error, OutcomeDropped):
            log.error("event=result_not_saved task_id=%s", task_id, exc_info=error)
        self._ended(run, DISCARDED)

    def _completed(self, run: _Run) -> None:
        seconds = self._ended(run, "completed")
        log.info(
            "event=task_completed task_id=%s task_type=%s worker_id=%s seconds=%.3f",
            run.claim.task_id, run.claim.task_type, self.worker_id, seconds,
        )  # fmt: skip

    def _ended(self, run: _Run, outcome: str) -> float:
        """A saved (or discarded) result: counted, and its task leaves this worker.
        Returns the seconds from its start to now."""
        seconds = time.perf_counter() - run.started
        self.metrics.ran(run.claim.task_type, outcome, seconds)
        self._runs.pop(run.claim.task_id, None)
        return seconds

    async def _cancelled(self, claim: ClaimedTask, started: float) -> None:
        try:
            await self._save("cancel", claim, lambda: self.store.cancelled(claim))
        except (LeaseLost, NotFound, OutcomeDropped) as lost:
            log.warning("event=cancel_discarded task_id=%s reason=%r", claim.task_id, str(lost))
            self.metrics.ran(claim.task_type, DISCARDED, time.perf_counter() - started)
            return
        self.metrics.ran(claim.task_type, "cancelled", time.perf_counter() - started)
        log.info(
            "event=task_cancelled task_id=%s task_type=%s worker_id=%s",
            claim.task_id, claim.task_type, self.worker_id,
        )  # fmt: skip

    async def _cancel_loop(self, stop: asyncio.Event) -> None:
        """Stop handlers of tasks a client cancelled, within CANCEL_POLL_S, and those
        past their time limit."""
        while not await sleep_unless(stop, CANCEL_POLL_S):
            if not self._runs:
                continue
            self._stop_overdue()
            try:
                wanted = await self.store.cancel_requested(list(self._runs))
            except Exception as error:
                self._log_redis_error("cancel_poll_failed", error)
                continue
            for task_id in wanted:
                run = self._runs.get(task_id)
                if run is None or run.signal.requested:
                    continue
                run.signal.requested = True
                # A handler that already returned keeps its outcome (being saved).
                if not run.signal.handler_done:
                    run.signal.interrupted = True
                    run.runner.cancel()
                log.info("event=cancel_requested task_id=%s worker_id=%s", task_id, self.worker_id)

    def _stop_overdue(self) -> None:
        """Cancel the handlers past their time limit (their task fails with a
        retryable timeout: _call_handler). One look at the running tasks every
        CANCEL_POLL_S rather than a timer per task: a limit is kept to within that."""
        now = asyncio.get_running_loop().time()
        for run in self._runs.values():
            if now >= run.deadline and not run.timed_out and not run.signal.handler_done:
                run.timed_out = True
                run.runner.cancel()

    async def _call_handler(self, run: _Run) -> str:
        claim, signal = run.claim, run.signal
        try:
            kind = task_type(claim.task_type)
        except Exception as exc:
            raise PermanentError(f"no handler for task type {claim.task_type!r} here") from exc
        try:
            metadata = claim.metadata()
        except CorruptTask as exc:
            raise PermanentError(str(exc)) from exc
        logs = TaskLogCapture(claim.task_id, claim.task_type, self.store)
        context = TaskContext(
            task_id=claim.task_id,
            task_type=claim.task_type,
            content=claim.content,
            metadata=metadata,
            retry_count=claim.retry_count,
            load_payload=functools.partial(self.store.payload, claim.task_id),
            services=self._services,
            cancel_signal=signal,
            progress_sink=functools.partial(self._report_progress, run),
            logger=logs.start(),
        )
        self._gate.started(claim)
        run.deadline = asyncio.get_running_loop().time() + self.config.task_time_limit_s
        try:
            if kind.cpu_bound:
                outcome = await asyncio.to_thread(kind.handler, context)
            else:
                outcome = kind.handler(context)
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
        except asyncio.CancelledError:
            if not run.timed_out or signal.interrupted:
                raise
            # Stopped at its time limit (_stop_overdue), not cancelled: a failure.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            raise NetworkTimeout(
                f"task exceeded its time limit of {self.config.task_time_limit_s:g} s"
            ) from None
        finally:
            self._handler_done(run)
            with _REPORTER_LOCK:
                reporter = run.reporter
            if reporter is not None:
                await reporter.close()
            await logs.close()
        return outcome if isinstance(outcome, str) else json.dumps(outcome)

    def _report_progress(self, run: _Run, fraction: float, message: str) -> None:
        """The handler's ctx.progress, from the loop or a CPU-bound handler's thread.
        Its reporter is made on the first report (most tasks make none); once the
        handler has ended, reports are dropped."""
        reporter = run.reporter
        if reporter is None:
            with _REPORTER_LOCK:
                if run.reporter is None and not run.signal.handler_done:
                    claim, loop = run.claim, self._loop
                    assert loop is not None  # set by run() before any task starts
                    run.reporter = ProgressReporter(
                        claim.task_id,
                        lambda fraction, message: self.store.progress(claim, fraction, message),
                        loop,
                    )
                reporter = run.reporter
            if reporter is None:
                return
        reporter.report(fraction, message)

    async def _fail(self, claim: ClaimedTask, error: Exception) -> str:
        """Save the failure; returns the outcome for the metrics (the new state)."""
        verdict = classify(error, claim.retry_count)
        described = describe(error)
        delay_s = verdict.delay_s * self.config.retry_delay_scale
        try:
            state = await self._save(
                "failure", claim,
                lambda: self.store.fail(
                    claim, described.message, verdict.error_type,
                    permanent=verdict.permanent,
                    retry_delay_s=delay_s,
                    consumes_retry=verdict.consumes_retry,
                    exception=described.exception,
                    traceback=described.traceback,
                ),
            )  # fmt: skip
        except (LeaseLost, NotFound) as lost:
            log.warning("event=failure_discarded task_id=%s reason=%r", claim.task_id, str(lost))
            return DISCARDED
        except OutcomeDropped:
            return DISCARDED
        # A retry delay is logged only when there is a retry to wait for.
        retry = f" retry_in={delay_s:.1f}" if state is TaskState.SCHEDULED else ""
        exception = f" exception={described.exception}" if described.exception else ""
        log.warning(
            "event=task_failed task_id=%s task_type=%s worker_id=%s error_type=%s%s "
            "new_state=%s%s error=%r",
            claim.task_id, claim.task_type, self.worker_id, verdict.error_type, exception,
            state, retry, described.message,
        )  # fmt: skip
        return str(state).lower()

    async def _park(self, claim: ClaimedTask, held: Parked) -> None:
        """Hold the task back without a failure: no retry spent, nothing in error_history."""
        hold_s = held.hold_s * self.config.retry_delay_scale
        try:
            await self._save("park", claim, lambda: self.store.park(claim, hold_s, held.reason))
        except (LeaseLost, NotFound) as lost:
            log.warning("event=park_discarded task_id=%s reason=%r", claim.task_id, str(lost))
            return
        except OutcomeDropped:
            return
        log.info(
            "event=task_parked task_id=%s task_type=%s worker_id=%s hold_s=%.1f reason=%r",
            claim.task_id, claim.task_type, self.worker_id, hold_s, held.reason,
        )  # fmt: skip

    async def _save(self, what: str, claim: ClaimedTask, write: Callable[[], Awaitable[T]]) -> T:
        """`write` an outcome, retrying while Redis is unreachable (a restart, a
        failover) for as long as the task's lease would last: redoing the work costs
        more than waiting (an LLM call is paid for). Past that the lease has expired,
        the scheduler requeues the task, and OutcomeDropped says so.
        LeaseLost and NotFound go to the caller: those are answers, not outages."""
        delay, deadline = 0.1, time.monotonic() + self.store.config.lease_ms / 1000
        while True:
            try:
                return await write()
            except REDIS_DOWN as error:
                if time.monotonic() + delay > deadline:
                    log.error(
                        "event=%s_not_saved task_id=%s worker_id=%s error=%r "
                        "(its lease expires and the task is requeued)",
                        what, claim.task_id, self.worker_id, str(error),
                    )  # fmt: skip
                    raise OutcomeDropped from error
                log.warning(
                    "event=%s_save_retry task_id=%s retry_in=%.1f error=%r",
                    what, claim.task_id, delay, str(error),
                )  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, SAVE_RETRY_MAX_DELAY_S)

    def _log_redis_error(self, event: str, error: Exception) -> None:
        if isinstance(error, REDIS_DOWN):
            log.warning("event=%s worker_id=%s error=%r", event, self.worker_id, str(error))
        else:
            log.error("event=%s worker_id=%s", event, self.worker_id, exc_info=error)

    async def _heartbeat_loop(self, stop: asyncio.Event) -> None:
        while not await sleep_unless(stop, self.config.heartbeat_s):
            try:
                await self._beat()
                lost = await self.store.renew([run.claim for run in self._runs.values()])
            except Exception as error:
                self._log_redis_error("heartbeat_failed", error)
                continue
            for task_id in lost:
                run = self._runs.get(task_id)
                if run is not None:
                    log.warning("event=lease_lost task_id=%s worker_id=%s", task_id, self.worker_id)
                    run.runner.cancel()

    async def _beat(self) -> None:
        ttl = max(int(self.config.heartbeat_s * 6), 10)
        await self.registry.beat(
            self.worker_id,
            {
                "executor_id": self.config.executor_id,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "concurrency": self.config.concurrency,
                "started_at": f"{self._started_at:.3f}",
                "paused": int(self._is_paused()),
                "in_flight": self.in_flight,
                "queues": ",".join(self._queue_names),
            },
            ttl,
        )

    async def _drain(self) -> None:
        """Let running tasks finish within the grace period; hand back the rest."""
        if self._runs:
            log.info(
                "event=worker_draining worker_id=%s in_flight=%d grace_s=%g",
                self.worker_id, self.in_flight, self.config.shutdown_grace_s,
            )  # fmt: skip
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.config.shutdown_grace_s
            # Handlers, and retries of a result's save (started meanwhile, too).
            while runners := [run.runner for run in self._runs.values() if not run.runner.done()]:
                if loop.time() >= deadline:
                    break
                await asyncio.wait(runners, timeout=deadline - loop.time())
        # Results still being saved go with the completers' last batches (run()).
        unfinished = [run for run in self._runs.values() if not run.runner.done()]
        for run in unfinished:
            run.runner.cancel()
        await asyncio.gather(*(run.runner for run in unfinished), return_exceptions=True)
        if unfinished:
            released = await self.store.release([run.claim for run in unfinished])
            log.info("event=tasks_handed_back worker_id=%s count=%d", self.worker_id, released)
