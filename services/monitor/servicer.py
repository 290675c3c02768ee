"""MonitorService over gRPC: read-only snapshots and live streams.

Streams share the process's one subscription (EventHub); a watch subscribes
before it reads its first snapshot, so no change falls between the two.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from grpc import aio

from services.monitor import convert as events
from taskflow.provider.status import ProviderStatusService
from taskflow.rpc import convert
from taskflow.store import TERMINAL_STATES, TaskStore
from taskflow.store.breaker import BreakerState, CircuitBreakerStore
from taskflow.store.events import EventHub
from taskflow.store.workers import WorkerRecord, WorkerRegistry
from taskflow.v1 import enums_pb2
from taskflow.v1 import monitor_service_pb2 as pb
from taskflow.v1.monitor_service_pb2_grpc import MonitorServiceServicer

Context = aio.ServicerContext[Any, Any]
DEFAULT_HEARTBEAT_S = 30
# A task watch re-reads the task at least this often, in case an event was missed.
TASK_RECHECK_S = 5.0
HEALTHY = enums_pb2.HEALTH_STATUS_HEALTHY
DEGRADED = enums_pb2.HEALTH_STATUS_DEGRADED
UNHEALTHY = enums_pb2.HEALTH_STATUS_UNHEALTHY


class MonitorServicer(MonitorServiceServicer):
    def __init__(
        self,
        store: TaskStore,
        hub: EventHub,
        breakers: CircuitBreakerStore,
        provider: ProviderStatusService,
    ) -> None:
        self.store = store
        self.hub = hub
        self.workers = WorkerRegistry(store.client, store.keys)
        self.breakers = breakers
        self.provider = provider

    async def GetQueueStatus(self, request: pb.GetQueueStatusRequest, context: Context) -> Any:
        status = await self.store.status()
        return pb.GetQueueStatusResponse(
            queues=convert.depths_to_proto(status.queues),
            states=convert.state_counts_to_proto(status.states),
            retry_ratio=status.retry_ratio,
            timestamp=convert.timestamp(datetime.now(UTC)),
        )

    async def WatchQueues(
        self, request: pb.WatchQueuesRequest, context: Context
    ) -> AsyncIterator[pb.WatchQueuesResponse]:
        quiet_s = request.heartbeat_seconds or DEFAULT_HEARTBEAT_S
        async with self.hub.watch() as watcher:
            yield events.initial(await self.store.status())
            while True:
                raw = await watcher.next(quiet_s)
                if watcher.take_lag():
                    yield events.initial(await self.store.status())  # resynchronise
                elif raw is None:
                    yield events.heartbeat()
                elif (message := events.event(raw)) is not None:
                    yield message

    async def WatchTask(
        self, request: pb.WatchTaskRequest, context: Context
    ) -> AsyncIterator[pb.WatchTaskResponse]:
        async with self.hub.watch() as watcher:
            task = await self.store.get(request.task_id)
            yield pb.WatchTaskResponse(task=convert.task_to_proto(task))
            while task.state not in TERMINAL_STATES:
                raw = await watcher.next(TASK_RECHECK_S)
                watcher.take_lag()
                if raw is not None and raw.get("task_id") != task.task_id:
                    continue
                if raw is not None and raw.get("type") == "task_deleted":
                    yield pb.WatchTaskResponse(task=convert.task_to_proto(task), deleted=True)
                    return
                current = await self.store.get(task.task_id)
                if current.updated_at != task.updated_at or current.state != task.state:
                    yield pb.WatchTaskResponse(
                        task=convert.task_to_proto(current),
                        old_state=convert.state_to_proto(task.state),
                    )
                task = current

    async def ListWorkers(self, request: pb.ListWorkersRequest, context: Context) -> Any:
        records = await self.workers.all()
        breakers = await self.breakers.all_states()
        shared = next(iter(breakers.values())).state if breakers else BreakerState.CLOSED
        details = [_worker(record, circuit_state(shared)) for record in records]
        healthy = sum(1 for r in records if r.alive)
        overall = HEALTHY if records and healthy == len(records) else DEGRADED
        return pb.ListWorkersResponse(
            overall_status=overall,
            total_workers=len(records),
            healthy_workers=healthy,
            stale_workers=len(records) - healthy,
            circuit_breaker_states={n: circuit_state(b.state) for n, b in breakers.items()},
            worker_details=details,
            timestamp=convert.timestamp(datetime.now(UTC)),
        )

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
        days = await self.provider.metrics(request.days or 7)
        return pb.GetProviderMetricsResponse(
            days=[
                pb.ProviderDailyMetrics(
                    date=day.day.isoformat(),
                    total_calls=day.calls,
                    successes=day.successes,
                    failures=day.failures,
                    rate_limit_hits=day.rate_limit_hits,
                )
                for day in days
            ]
        )

    async def GetSystemHealth(self, request: pb.GetSystemHealthRequest, context: Context) -> Any:
        components: dict[str, pb.ComponentHealth] = {}
        try:
            await self.store.client.ping()
            components["redis"] = pb.ComponentHealth(status=HEALTHY, message="answers")
            records = await self.workers.all()
            alive = sum(1 for r in records if r.alive)
            workers = HEALTHY if alive and alive == len(records) else DEGRADED
            message = f"{alive} of {len(records)} workers heartbeating"
            components["workers"] = pb.ComponentHealth(status=workers, message=message)
        except Exception as exc:  # Redis down: report it, do not fail the call
            components["redis"] = pb.ComponentHealth(status=UNHEALTHY, message=str(exc))
        worst = max(c.status for c in components.values())
        return pb.GetSystemHealthResponse(
            status=worst, components=components, timestamp=convert.timestamp(datetime.now(UTC))
        )


def circuit_state(state: BreakerState) -> enums_pb2.CircuitState.ValueType:
    return enums_pb2.CircuitState.Value(f"CIRCUIT_STATE_{state.value}")


def _worker(record: WorkerRecord, breaker: enums_pb2.CircuitState.ValueType) -> pb.WorkerDetail:
    stats = record.stats
    started = float(stats.get("started_at", 0) or 0)
    return pb.WorkerDetail(
        worker_id=record.worker_id,
        status=enums_pb2.WORKER_HEALTH_HEALTHY if record.alive else enums_pb2.WORKER_HEALTH_STALE,
        last_seen=convert.timestamp_from_unix(record.last_seen),
        seconds_since_heartbeat=max(time.time() - record.last_seen, 0.0),
        circuit_breaker_state=breaker,
        success_count=int(stats.get("completed", 0)),
        failure_count=int(stats.get("failed", 0)),
        active_task_ids=record.active_tasks,
        hostname=stats.get("hostname", ""),
        pid=int(stats.get("pid", 0) or 0),
        concurrency=int(stats.get("concurrency", 0) or 0),
        started_at=convert.timestamp_from_unix(started) if started else None,
    )
