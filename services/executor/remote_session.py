"""One remote worker's session (WorkerService.Work), free of gRPC.

The session claims tasks from the worker's named queue as far as its credit goes,
renews the leases of the tasks it handed out while it lasts, and records the
outcomes the worker sends with the store's own transitions (complete_many, fail,
cancelled), so fencing, retry schedules and the DLQ are exactly those of our own
workers. Like them it looks for client cancellations of the tasks it holds and
stores progress at most twice a second per task. What it has to say to the worker
goes into `outbox`.

The feed talks to Redis in round trips: the outcomes that came in since the last
one are recorded and the tasks the worker's credit allows are claimed in the same
round trip (TaskStore.complete_and_claim, as our own workers' Completer), so a
draining worker costs one round trip per batch, not two. Like the executor's lanes
of slots, two such round trips may be in flight at once, each claiming at most half
the tasks the worker holds: the worker runs one half batch while the other's round
trip is on its way, where with one batch the worker, the executor and Redis took
turns. Credit is taken when a round trip starts, so no more tasks are out than the
worker's free slots. A worker that prefetches (WorkerRegistration.prefetch) holds
concurrency + prefetch tasks, those beyond its slots waiting in it for one; its
credit and the lanes' shares count them, so with prefetch = concurrency it gets
whole batches and still has the next at hand while their round trip is on its way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from services.executor.progress import ProgressReporter
from services.executor.retry_policy import retry_delay
from taskflow.aio import sleep_unless
from taskflow.errors import LeaseLost, NotFound, TaskflowError
from taskflow.store import ClaimBatch, ClaimedTask, TaskState, TaskStore
from taskflow.store.remote import RemoteQueues
from taskflow.store.task_logs import LogLine, TaskLogs
from taskflow.store.workers import WorkerRegistry

log = logging.getLogger(__name__)
# Most tasks one claim takes (and one TaskBatch carries).
MAX_BATCH = 256
# How long an idle session blocks on its queue's wake-up list before looking again.
IDLE_WAIT_S = 0.5
# How often held tasks are checked for a client's cancellation (as our own workers).
CANCEL_POLL_S = 0.25
# Round trips in flight at once, the credit shared between those that start
# together, so a draining worker has two half batches on the move (docs/performance.md,
# "Remote hop, session 9").
LANES = 2


@dataclass(frozen=True)
class SessionConfig:
    worker_id: str
    queue: str
    executor_id: str
    heartbeat_s: float
    retry_delay_scale: float
    concurrency: int = 0
    prefetch: int = 0  # tasks it holds ready beyond those it runs (its credit's ceiling)
    runtime: str = ""
    task_types: tuple[str, ...] = ()  # the types it registered: all it is given


@dataclass(frozen=True)
class Failure:
    error: str
    error_type: str
    permanent: bool
    retry_after_s: float = 0.0


class Outcome(NamedTuple):
    """A finished task as the worker reports it: `result`, `failure`, or `cancelled`.
    (A tuple, not a dataclass: one is made per task on the drain's hot path.)"""

    task_id: str
    lease_token: str
    result: str | None = None
    failure: Failure | None = None
    cancelled: bool = False


class Ack(NamedTuple):
    task_id: str
    error: TaskflowError | None  # None: recorded
    state: TaskState | None = None


@dataclass(frozen=True)
class Assigned:
    """Tasks claimed for the worker's credit, and the acks of the outcomes that came
    with that credit (recorded in the same round trip)."""

    tasks: list[ClaimedTask]
    acks: list[Ack] = field(default_factory=list)


@dataclass(frozen=True)
class Acks:
    acks: list[Ack]


@dataclass(frozen=True)
class Cancelled:
    task_ids: list[str]
    reason: str
    requested: bool = False  # by a client (report `cancelled`), else the lease is lost


@dataclass(frozen=True)
class Heartbeat:
    pass


Message = Assigned | Acks | Cancelled | Heartbeat


class _Arrived(NamedTuple):
    """A batch of outcomes waiting for the feed loop; `with_tasks`: its acks go out
    with the next tasks (the worker sent its credit with it), else as Acks."""

    outcomes: list[Outcome]
    with_tasks: bool


class RemoteSession:
    def __init__(
        self,
        store: TaskStore,
        config: SessionConfig,
        *,
        is_paused: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.config = config
        self.remote = RemoteQueues(store)
        self.registry = WorkerRegistry(store.client, store.keys)
        self.logs = TaskLogs(store)
        # What goes to the worker, in order; None: the stream is over (put by its servicer).
        self.outbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self.held: dict[str, ClaimedTask] = {}
        self._reporters: dict[str, ProgressReporter] = {}
        self._cancel_sent: set[str] = set()
        self._is_paused = is_paused
        self._credit = 0
        self._arrived: list[_Arrived] = []
        # Set when credit or outcomes arrive: the feed loop has something to do.
        self._nudged = asyncio.Event()
        # The wait for new work in the queue after a claim found none.
        self._waiting: asyncio.Task[bool] | None = None
        # The wait just ended (`_woke`), and the one claim that looks first is on its
        # way (`_probing`): the other lane claims only if that one finds more.
        self._woke = False
        self._probing = False
        self._started_at = time.time()
        self._sent_at = time.monotonic()
        self._in_flight = 0  # lanes in a round trip
        # A lane's share of the tasks the worker holds (running and prefetched; a
        # worker that did not say: no sharing).
        held = config.concurrency + max(config.prefetch, 0)
        self._lane_share = -(-held // LANES) if config.concurrency > 0 else MAX_BATCH

    def grant(self, slots: int) -> None:
        if slots > 0:
            self._credit += slots
            self._nudged.set()

    def submit(self, outcomes: list[Outcome], slots: int = 0) -> None:
        """Outcomes for the feed loop to record in its next round trip; with `slots`,
        credit granted with them, and their acks go out with the tasks claimed for it."""
        self._credit += max(slots, 0)
        self._arrived.append(_Arrived(outcomes, slots > 0))
        self._nudged.set()

    async def adopt(self, leases: Sequence[tuple[str, str]]) -> None:
        """Take over tasks the worker still runs from an earlier stream (it reconnected):
        their leases are renewed from now on; the worker is told at once of those it
        lost meanwhile."""
        lost = set(await self.store.renew([_lease(task_id, token) for task_id, token in leases]))
        kept = [(task_id, token) for task_id, token in leases if task_id not in lost]
        for task_id, token in kept:
            try:
                task = await self.store.get(task_id)
            except NotFound:
                lost.add(task_id)
                continue
            self.held[task_id] = ClaimedTask(
                task_id, task.task_type, task.retry_count, "", "{}", token
            )
        if lost:
            self._send(Cancelled(sorted(lost), "lease lost"))
        log.info("event=remote_worker_adopted worker_id=%s kept=%d lost=%d",
                 self.config.worker_id, len(self.held), len(lost))  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Feed tasks and renew leases until `stop`; held tasks keep their leases."""
        await self._beat()
        renewer = asyncio.create_task(self._renew_loop(stop), name="remote-renew")
        canceller = asyncio.create_task(self._cancel_loop(stop), name="remote-cancel")
        # `stop` nudges the feed loop too, so its wait between batches is on one event.
        stopping = asyncio.create_task(stop.wait(), name="remote-stop")
        stopping.add_done_callback(lambda _: self._nudged.set())
        try:
            await self._feed(stop)
            if self._arrived:
                # Sent just before the stream ended (a worker stopping sends its last
                # outcomes, then closes): recorded all the same, though no ack can go out.
                await self.record([o for batch in self._arrived for o in batch.outcomes])
                self._arrived.clear()
        finally:
            stopping.cancel()
            if self._waiting is not None:  # a blocking wait, done within IDLE_WAIT_S
                await asyncio.gather(self._waiting, return_exceptions=True)
            await asyncio.gather(renewer, canceller)
            for task_id in list(self._reporters):
                await self._forget(task_id)
            await self.registry.leave(self.config.worker_id)

    async def record(self, outcomes: Sequence[Outcome]) -> list[Ack]:
        """Record a batch of outcomes; per outcome, whether it was accepted."""
        acks, _ = await self._record_and_claim(outcomes, 0)
        return acks

    async def _record_and_claim(
        self, outcomes: Sequence[Outcome], wanted: int
    ) -> tuple[list[Ack], ClaimBatch]:
        """Record `outcomes` and claim up to `wanted` tasks: completions and the claim
        in one round trip, failures and cancellations (rare) on their own after it."""
        completed = [o for o in outcomes if o.failure is None and not o.cancelled]
        done, claims = await self.remote.complete_and_claim(
            [(self._claim_for(o), o.result or "") for o in completed],
            self.config.worker_id,
            [self.config.queue],
            self.config.task_types,
            wanted,
        )
        acks = [
            Ack(o.task_id, None, TaskState.COMPLETED) if error is None else Ack(o.task_id, error)
            for o, error in zip(completed, done, strict=True)
        ]
        if len(completed) < len(outcomes):
            completions = iter(acks)
            acks = []
            for outcome in outcomes:
                if outcome.failure is not None:
                    acks.append(await self._fail(outcome, outcome.failure))
                elif outcome.cancelled:
                    acks.append(await self._cancelled(outcome))
                else:
                    acks.append(next(completions))
        await self._forget_all([o.task_id for o in outcomes])
        return acks, claims

    async def release(self, leases: Sequence[tuple[str, str]]) -> int:
        """Hand tasks the worker will not finish back to the head of their queue."""
        for task_id, _ in leases:
            await self._forget(task_id)
        return await self.store.release(_lease(task_id, token) for task_id, token in leases)

    async def log(self, task_id: str, lines: Sequence[LogLine]) -> None:
        """Store a held task's log lines (those of a task no longer held are dropped:
        a worker writes only to its own tasks)."""
        if not lines or task_id not in self.held:
            return
        with contextlib.suppress(NotFound):  # deleted meanwhile: nothing to keep them for
            await self.logs.append(task_id, lines)

    def progress(self, task_id: str, fraction: float, message: str) -> None:
        """A held task's progress, stored as ctx.progress's (throttled, the latest
        winning); a fraction out of 0..1 means "none"."""
        claim = self.held.get(task_id)
        if claim is None or not 0.0 <= fraction <= 1.0:
            return
        reporter = self._reporters.get(task_id)
        if reporter is None:
            reporter = self._reporters[task_id] = ProgressReporter(
                task_id,
                lambda f, m: self.store.progress(claim, f, m),
                asyncio.get_running_loop(),
            )
        reporter.report(fraction, message)

    async def _forget(self, task_id: str) -> None:
        """The task is no longer this worker's: no more progress, no cancel to send."""
        await self._forget_all([task_id])

    async def _forget_all(self, task_ids: Sequence[str]) -> None:
        pop = self.held.pop
        for task_id in task_ids:
            pop(task_id, None)
        if self._cancel_sent:
            self._cancel_sent.difference_update(task_ids)
        if self._reporters:
            reporters = [self._reporters.pop(t, None) for t in task_ids]
            for reporter in reporters:
                if reporter is not None:
                    await reporter.close()

    async def _cancelled(self, outcome: Outcome) -> Ack:
        try:
            await self.store.cancelled(self._claim_for(outcome))
        except (LeaseLost, NotFound) as error:
            return Ack(outcome.task_id, error)
        return Ack(outcome.task_id, None, TaskState.CANCELLED)

    async def _fail(self, outcome: Outcome, failure: Failure) -> Ack:
        held = self.held.get(outcome.task_id)
        try:
            retry_count = (held or await self.store.get(outcome.task_id)).retry_count
            delay = 0.0
            if not failure.permanent:
                after = failure.retry_after_s or None
                delay = retry_delay(failure.error_type or "Default", retry_count, after)
            state = await self.store.fail(
                self._claim_for(outcome),
                failure.error or failure.error_type or "failed",
                failure.error_type or "Default",
                permanent=failure.permanent,
                retry_delay_s=delay * self.config.retry_delay_scale,
            )
        except (LeaseLost, NotFound) as error:
            return Ack(outcome.task_id, error)
        return Ack(outcome.task_id, None, state)

    def _claim_for(self, outcome: Outcome) -> ClaimedTask:
        # The worker's token, never the one on record: it is what fencing checks.
        held = self.held.get(outcome.task_id)
        if held is not None and held.lease_token == outcome.lease_token:
            return held
        return _lease(outcome.task_id, outcome.lease_token)

    async def _feed(self, stop: asyncio.Event) -> None:
        """The lanes until `stop`; an error in one (Redis) stops the other and ends
        the session."""
        lanes = [asyncio.create_task(self._feed_loop(stop)) for _ in range(LANES)]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _feed_loop(self, stop: asyncio.Event) -> None:
        """One lane: record what came in and claim what the credit allows, one round
        trip at a time; wait when there is neither (no credit, paused, or the queue
        empty). What it takes (outcomes, credit) is taken before its round trip
        starts, so the other lane's next round trip takes only what is left."""
        while not stop.is_set():
            wanted = self._claimable()
            if not self._arrived and not wanted:
                await self._idle()
                continue
            self._nudged.clear()
            arrived, self._arrived = self._arrived, []
            self._credit -= wanted
            outcomes = [o for batch in arrived for o in batch.outcomes]
            probe = wanted > 0 and self._woke
            self._woke = False
            self._probing |= probe
            self._in_flight += 1
            try:
                acks, claims = await self._record_and_claim(outcomes, wanted)
            finally:
                self._in_flight -= 1
                if probe:
                    self._probing = False
            if wanted and (not claims or claims.drained) and self._waiting is None:
                self._wait_for_work(claims)
            elif probe:
                self._nudged.set()  # more to take: the other lane joins in
            self._credit += wanted - len(claims)  # what the claim did not find
            for claim in claims:
                self.held[claim.task_id] = claim
            self._answer(arrived, acks, claims)

    def _wait_for_work(self, claims: ClaimBatch) -> None:
        """Block on the queue's wake-up list: the claim found nothing, or ran the
        lists dry with credit left (as the executor's fetch loop, docs/performance.md,
        "The idle executor's wake-up path"). A claim that ran them dry answered the
        next due time, so the wait reads none of its own (no ZRANGE + TIME round
        trip), and no second claim goes out to find them empty; the outcomes that
        come in meanwhile are recorded without one."""
        self._waiting = asyncio.ensure_future(
            self.registry.wait_for_work(IDLE_WAIT_S, [self.config.queue], drained=claims)
        )

    def _claimable(self) -> int:
        """Tasks to claim now: the credit, unless paused, waiting for the queue, or
        the first claim after that wait is on its way (two lanes woken by one wake-up
        would both claim, the second to find the lists the first ran dry).
        Credit above a lane's share of the tasks the worker holds is shared with the
        lanes not in a round trip, so a worker granting all its slots at once gets
        them in two half batches, one on its way while it runs the other (never
        less than a share: smaller batches cost more round trips per task)."""
        if self._credit <= 0 or self._waiting is not None or self._probing or self._is_paused():
            return 0
        credit = min(self._credit, MAX_BATCH)
        idle_lanes = LANES - self._in_flight
        if idle_lanes <= 1 or credit <= self._lane_share:
            return credit
        return max(self._lane_share, -(-credit // idle_lanes))

    async def _idle(self) -> None:
        """Until credit or outcomes arrive, `stop` (both set `_nudged`), new work in
        the queue (the claim found none) or, while paused, the next look at the
        pause flag."""
        if self._credit <= 0 and self._waiting is None:  # a busy worker: its outcomes
            await self._nudged.wait()
            self._nudged.clear()
            return
        nudged = asyncio.ensure_future(self._nudged.wait())
        other = self._waiting or asyncio.ensure_future(_paused_wait())
        await asyncio.wait([nudged, other], return_when=asyncio.FIRST_COMPLETED)
        nudged.cancel()
        if other is not self._waiting:
            other.cancel()
        if self._waiting is not None and self._waiting.done():
            waiting, self._waiting = self._waiting, None
            self._woke = True  # one lane looks first (the other lane woke too)
            waiting.result()  # a Redis error ends the session, as any feed error
        self._nudged.clear()

    def _answer(self, arrived: list[_Arrived], acks: list[Ack], claims: list[ClaimedTask]) -> None:
        """The claimed tasks with the acks of outcomes that brought credit, and the acks
        of the others on their own, each batch's acks in the order sent."""
        with_tasks: list[Ack] = []
        start = 0
        for batch in arrived:
            part = acks[start : start + len(batch.outcomes)]
            start += len(batch.outcomes)
            if batch.with_tasks:
                with_tasks += part
            else:
                self._send(Acks(part))
        if claims or with_tasks:
            self._send(Assigned(claims, with_tasks))

    async def _renew_loop(self, stop: asyncio.Event) -> None:
        while not await sleep_unless(stop, self.config.heartbeat_s):
            try:
                await self._beat()
                lost = await self.store.renew(list(self.held.values()))
            except Exception as error:
                log.warning("event=remote_renew_failed worker_id=%s error=%r",
                            self.config.worker_id, str(error))  # fmt: skip
                continue
            for task_id in lost:
                await self._forget(task_id)
            if lost:
                self._send(Cancelled(lost, "lease lost"))
            elif time.monotonic() - self._sent_at >= self.config.heartbeat_s:
                self._send(Heartbeat())

    async def _cancel_loop(self, stop: asyncio.Event) -> None:
        """Tell the worker, once per task, which held tasks a client cancelled."""
        while not await sleep_unless(stop, CANCEL_POLL_S):
            unsent = [task_id for task_id in self.held if task_id not in self._cancel_sent]
            try:
                wanted = await self.store.cancel_requested(unsent)
            except Exception as error:
                log.warning("event=remote_cancel_poll_failed worker_id=%s error=%r",
                            self.config.worker_id, str(error))  # fmt: skip
                continue
            wanted &= self.held.keys()  # an outcome may have come in meanwhile
            if wanted:
                self._cancel_sent |= wanted
                self._send(Cancelled(sorted(wanted), "cancelled by a client", requested=True))
                log.info("event=cancel_requested task_ids=%s worker_id=%s",
                         ",".join(sorted(wanted)), self.config.worker_id)  # fmt: skip

    def _send(self, message: Message) -> None:
        self._sent_at = time.monotonic()
        self.outbox.put_nowait(message)

    async def _beat(self) -> None:
        ttl = max(int(self.config.heartbeat_s * 6), 10)
        await self.registry.beat(
            self.config.worker_id,
            {
                "executor_id": self.config.executor_id,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "concurrency": self.config.concurrency,
                "started_at": f"{self._started_at:.3f}",
                "in_flight": len(self.held),
                "remote": 1,
                "runtime": self.config.runtime,
                "queue": self.config.queue,
            },
            ttl,
        )


async def _paused_wait() -> bool:
    """While paused, the pause flag is looked at again after this."""
    await asyncio.sleep(0.2)
    return False


def _lease(task_id: str, token: str) -> ClaimedTask:
    """The hold a worker names by id and token: all the store's fencing needs."""
    return ClaimedTask(task_id, "", 0, "", "{}", token)
