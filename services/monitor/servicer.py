"""MonitorService over gRPC: read-only snapshots and live streams.

Streams share the process's one subscription (WatchHub); a watch subscribes
before it reads its first snapshot, so no change falls between the two.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from time import monotonic
from typing import Any

from grpc import aio

from services.monitor import convert as messages
from services.monitor.health import system_health
from services.monitor.hub import Watcher, WatchHub
from services.monitor.limits import limits_response
from services.monitor.workers import WorkersView, workers_view
from taskflow.errors import InvalidInput, NotFound
from taskflow.provider.status import ProviderStatusService
from taskflow.rpc import convert
from taskflow.store import TERMINAL_STATES, TaskStore
from taskflow.store.breaker import CircuitBreakerStore
from taskflow.store.connection import ping, pool_stats
from taskflow.store.corrupt import CorruptTasks
from taskflow.store.event_stream import parse_id
from taskflow.store.events import EventKind, QueueEvent
from taskflow.store.limits import LimitStore
from taskflow.store.queues import QueueAdmin
from taskflow.store.series import read_series
from taskflow.store.task_logs import MAX_PAGE, TaskLogs
from taskflow.store.workers import WorkerRegistry
from taskflow.v1 import enums_pb2, task_pb2
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1.monitor_service_pb2_grpc import MonitorServiceServicer

Context = aio.ServicerContext[Any, Any]
DEFAULT_HEARTBEAT_S = 30
# How often a queue watch looks at the corrupt count (one LLEN), which no event
# reports; a change is sent as a fresh InitialStatus.
CORRUPT_CHECK_S = 5.0
# A wait that ends this close to the heartbeat time counts as reaching it.
HEARTBEAT_SLACK_S = 0.05
DEFAULT_METRICS_DAYS = 7
MAX_METRICS_DAYS = 90  # what the provider metrics keep
DEFAULT_SERIES_MINUTES = 60
# A task watch re-reads the task at least this often, in case an event was missed.
TASK_RECHECK_S = 5.0
# Default stale threshold: a few missed heartbeats of TASKFLOW_HEARTBEAT_SECONDS.
DEFAULT_STALE_AFTER_S = 15.0
# Events a queue watch has no message for: they concern one task's watchers.
TASK_WATCH_ONLY = frozenset({EventKind.LOGS})


class MonitorServicer(MonitorServiceServicer):
    def __init__(
        self,
        store: TaskStore,
        hub: WatchHub,
        breakers: CircuitBreakerStore,
        provider: ProviderStatusService,
        *,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
    ) -> None:
        self.store = store
        self.hub = hub
        self.workers = WorkerRegistry(store.client, store.keys)
        self.logs = TaskLogs(store)
        self.queues = QueueAdmin(store.client, store.keys)
        self._corrupt = CorruptTasks(store.client, store.keys)
        self.breakers = breakers
        self.provider = provider
        self.stale_after_s = stale_after_s
        self.limits = LimitStore(store.client, store.config.prefix)

    async def GetQueueStatus(self, request: pb.GetQueueStatusRequest, context: Context) -> Any:
        status = await self.store.status()
        return pb.GetQueueStatusResponse(
            queues=convert.depths_to_proto(status.queues),
            states=convert.state_counts_to_proto(status.states),
            retry_ratio=status.retry_ratio,
            timestamp=messages.now(),
            named_queues=messages.named_queues(await self.queues.depths()),
            corrupt_tasks=status.corrupt,
        )

    async def WatchQueues(
        self, request: pb.WatchQueuesRequest, context: Context
    ) -> AsyncIterator[pb.WatchQueuesResponse]:
        if request.heartbeat_seconds < 0:
            raise InvalidInput("heartbeat_seconds must be >= 0")
        quiet_s = request.heartbeat_seconds or DEFAULT_HEARTBEAT_S
        resume = request.resume_after
        async with self.hub.watch() as watcher:
            last = resume
            # The corrupt count the client last got (InitialStatus.corrupt_tasks).
            snapshot_corrupt = await self._corrupt.count()
            if resume and await self._resumable(resume):
                yield messages.heartbeat(resume)  # resumed: nothing missed
                async for event in self.hub.replay(watcher, resume):
                    last = event.event_id
                    if event.kind not in TASK_WATCH_ONLY:
                        yield self._queue_event(event)
            else:
                snapshot = await self._snapshot(missed_events=bool(resume))
                last = _holds_up_to(watcher, snapshot)
                snapshot_corrupt = snapshot.initial_status.corrupt_tasks
                yield snapshot
            # The corrupt count changes with no event (a claim sets ids aside
            # silently): looked at every CORRUPT_CHECK_S, a change sends a snapshot.
            said = checked = monotonic()  # the last message sent, the last look
            while True:
                wait = min(said + quiet_s, checked + CORRUPT_CHECK_S) - monotonic()
                live = await watcher.next(max(0.0, wait))
                if watcher.take_lag():  # events were dropped: resynchronise
                    snapshot = await self._snapshot()
                    last = _holds_up_to(watcher, snapshot)
                    snapshot_corrupt = snapshot.initial_status.corrupt_tasks
                    said = monotonic()
                    yield snapshot
                    continue
                if live is not None:
                    last = live.event_id or last
                    if live.kind not in TASK_WATCH_ONLY:
                        said = monotonic()
                        yield self._queue_event(live)
                now = monotonic()
                if now >= checked + CORRUPT_CHECK_S:
                    checked = now
                    if await self._corrupt.count() != snapshot_corrupt:
                        snapshot = await self._snapshot()
                        last = _holds_up_to(watcher, snapshot)
                        snapshot_corrupt = snapshot.initial_status.corrupt_tasks
                        said = monotonic()
                        yield snapshot
                        continue
                if live is None and now >= said + quiet_s - HEARTBEAT_SLACK_S:
                    said = now
                    yield messages.heartbeat(last)

    async def _resumable(self, resume: str) -> bool:
        """Whether every event after `resume` is still kept. An id that is not one
        of ours (an SSE client sends back whatever it last got) cannot be resumed
        after: the watch starts afresh and says events may have been missed."""
        try:
            parse_id(resume)
        except InvalidInput:
            return False
        return await self.hub.resumable(resume)

    async def _snapshot(self, *, missed_events: bool = False) -> pb.WatchQueuesResponse:
        """The counts now, and the newest event id they include (read first: an event
        landing between the two is sent again on resume, never lost)."""
        event_id = await self.hub.latest_id()
        return messages.initial(
            await self.store.status(),
            event_id,
            missed_events=missed_events,
            queues=await self.queues.depths(),
        )

    def _queue_event(self, event: QueueEvent) -> pb.WatchQueuesResponse:
        ratio = self.store.config.retry_ratio.for_length(event.queue_depths.retry)
        return messages.event(event, ratio)

    async def WatchTask(
        self, request: pb.WatchTaskRequest, context: Context
    ) -> AsyncIterator[pb.WatchTaskResponse]:
        resume = request.resume_after
        logs = _LogFollower(self.logs, request.task_id) if request.with_logs else None
        async with self.hub.watch() as watcher:
            missed = bool(resume) and not await self._resumable(resume)
            last, task = await self.store.get_after_latest_event(request.task_id)
            # The snapshot holds every change up to `last`: events the hub hands on
            # late up to there (a task's own `task_created`) need no second read.
            watcher.replayed_up_to = max(watcher.replayed_up_to, parse_id(last))
            yield pb.WatchTaskResponse(
                task=convert.task_to_proto(task),
                event_id=last,
                missed_events=missed,
                log_lines=await logs.new_lines() if logs else (),
            )
            while task.state not in TERMINAL_STATES:
                event = await watcher.next(TASK_RECHECK_S)
                watcher.take_lag()  # lost events or not, the task is re-read below
                if event is not None:
                    last = event.event_id or last
                if event is not None and event.task_id != task.task_id:
                    continue
                try:
                    current = await self.store.get(task.task_id)
                    lines = await logs.new_lines() if logs else []
                except NotFound:
                    current = None
                if current is None or (event is not None and event.kind is EventKind.DELETED):
                    yield pb.WatchTaskResponse(
                        task=convert.task_to_proto(task), deleted=True, event_id=last
                    )
                    return
                if (
                    lines
                    or current.updated_at != task.updated_at
                    or current.state != task.state
                    or current.progress_at != task.progress_at
                ):
                    yield pb.WatchTaskResponse(
                        task=convert.task_to_proto(current),
                        old_state=convert.state_to_proto(task.state),
                        event_id=last,
                        log_lines=lines,
                    )
                task = current

    async def ListWorkers(self, request: pb.ListWorkersRequest, context: Context) -> Any:
        return messages.workers(await self.current_workers())

    async def GetProviderStatus(
        self, request: pb.GetProviderStatusRequest, context: Context
    ) -> Any:
        status = await self.provider.status(force=request.refresh)
        return pb.GetProviderStatusResponse(
            status=enums_pb2.ProviderState.Value(f"PROVIDER_STATE_{status.status.name}"),
            message=status.message,
            balance=status.balance,
            usage_today=status.usage_today,
            usage_month=status.usage_month,
            last_check=convert.timestamp(status.last_check),
            error_details=status.error_details,
            consecutive_failures=status.consecutive_failures,
            circuit_breaker_open=status.circuit_breaker_open,
            cache_hit=status.cache_hit,
        )

    async def GetProviderMetrics(
        self, request: pb.GetProviderMetricsRequest, context: Context
    ) -> Any:
        if not 0 <= request.days <= MAX_METRICS_DAYS:
            raise InvalidInput(f"days must be between 0 and {MAX_METRICS_DAYS}")
        days = await self.provider.metrics(request.days or DEFAULT_METRICS_DAYS)
        return pb.GetProviderMetricsResponse(
            days=[
                pb.ProviderDailyMetrics(
                    date=day.day.isoformat(),
                    total_calls=day.calls,
                    successes=day.successes,
                    failures=day.failures,
                    rate_limit_hits=day.rate_limit_hits,
                )
                for day in reversed(days)  # the store's are oldest first
            ]
        )

    async def GetSystemHealth(self, request: pb.GetSystemHealthRequest, context: Context) -> Any:
        return messages.health(await system_health(self.store.client, self.current_workers))

    async def GetTaskSeries(self, request: pb.GetTaskSeriesRequest, context: Context) -> Any:
        points = await read_series(
            self.store.client, self.store.keys, request.minutes or DEFAULT_SERIES_MINUTES
        )
        return pb.GetTaskSeriesResponse(points=[messages.series_point(p) for p in points])

    async def GetRedisHealth(self, request: pb.GetRedisHealthRequest, context: Context) -> Any:
        result = await ping(self.store.client)
        return pb.GetRedisHealthResponse(
            connected=result.connected,
            response_time_ms=result.response_time_ms,
            error=result.error,
            timestamp=messages.now(),
        )

    async def GetRedisPoolStats(
        self, request: pb.GetRedisPoolStatsRequest, context: Context
    ) -> Any:
        stats = pool_stats(self.store.client)
        return pb.GetRedisPoolStatsResponse(
            available=stats.available,
            max_connections=stats.max_connections,
            created_connections=stats.idle + stats.in_use,
            available_connections=stats.idle,
            in_use_connections=stats.in_use,
            connection_type=stats.connection_type,
        )

    async def ListLimits(self, request: pb.ListLimitsRequest, context: Context) -> Any:
        return limits_response(await self.limits.read())

    async def current_workers(self) -> WorkersView:
        return await workers_view(self.workers, self.breakers, self.stale_after_s)


def _holds_up_to(watcher: Watcher, snapshot: pb.WatchQueuesResponse) -> str:
    """A queue watch's snapshot holds every change up to its event id: the watcher
    skips the events up to there that the hub hands on late (those read after a
    pause, WatchHub). Returns that id."""
    if snapshot.event_id:
        watcher.replayed_up_to = max(watcher.replayed_up_to, parse_id(snapshot.event_id))
    return snapshot.event_id


class _LogFollower:
    """A task watch's log lines: each read returns those not sent yet."""

    def __init__(self, logs: TaskLogs, task_id: str) -> None:
        self._logs = logs
        self._task_id = task_id
        self._after = 0

    async def new_lines(self) -> list[task_pb2.TaskLogLine]:
        lines: list[task_pb2.TaskLogLine] = []
        while True:
            page = await self._logs.read(self._task_id, self._after, MAX_PAGE)
            self._after = page.next_after_seq
            lines += [convert.log_line_to_proto(line) for line in page.lines]
            if page.last_seq <= self._after:
                return lines
