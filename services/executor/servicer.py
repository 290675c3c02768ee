"""ExecutorService over gRPC: status of this executor, pause/resume for all of them.

The circuit breakers and the rate limiter live in Redis, shared by every worker,
so any executor answers for the whole cluster.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from grpc import aio

from taskflow.errors import NotFound, quoted
from taskflow.provider import PROVIDER_SERVICE
from taskflow.rpc import convert
from taskflow.store.breaker import BreakerStatus, CircuitBreakerStore
from taskflow.store.control import ExecutorControl
from taskflow.store.queues import QueueAdmin
from taskflow.store.rate_limit import RateLimiter
from taskflow.store.workers import WorkerRecord, WorkerRegistry
from taskflow.v1 import executor_service_pb2 as pb
from taskflow.v1.executor_service_pb2_grpc import ExecutorServiceServicer

Context = aio.ServicerContext[Any, Any]


class ExecutorServicer(ExecutorServiceServicer):
    def __init__(
        self,
        executor_id: str,
        registry: WorkerRegistry,
        control: ExecutorControl,
        breakers: CircuitBreakerStore,
        limiter: RateLimiter,
    ) -> None:
        self.executor_id = executor_id
        self.registry = registry
        self.control = control
        self.breakers = breakers
        self.limiter = limiter
        self.queues = QueueAdmin(registry.client, registry.keys)

    async def GetExecutorStatus(
        self, request: pb.GetExecutorStatusRequest, context: Context
    ) -> Any:
        workers = [
            _worker(record)
            for record in await self.registry.all()
            if record.alive and record.stats.get("executor_id") == self.executor_id
        ]
        return pb.GetExecutorStatusResponse(
            executor_id=self.executor_id, paused=await self.control.is_paused(), workers=workers
        )

    async def PauseExecutor(self, request: pb.PauseExecutorRequest, context: Context) -> Any:
        await self.control.pause()
        return pb.PauseExecutorResponse(paused=True)

    async def ResumeExecutor(self, request: pb.ResumeExecutorRequest, context: Context) -> Any:
        await self.control.resume()
        return pb.ResumeExecutorResponse(paused=False)

    async def PauseQueue(self, request: pb.PauseQueueRequest, context: Context) -> Any:
        changed = await self.queues.pause(request.name)
        return pb.PauseQueueResponse(name=request.name, paused=True, changed=changed)

    async def ResumeQueue(self, request: pb.ResumeQueueRequest, context: Context) -> Any:
        changed = await self.queues.resume(request.name)
        return pb.ResumeQueueResponse(name=request.name, paused=False, changed=changed)

    async def ResetCircuitBreaker(
        self, request: pb.ResetCircuitBreakerRequest, context: Context
    ) -> Any:
        results = await self._each_breaker(request.service, self.breakers.reset)
        done = sum(r.success for r in results)
        return pb.ResetCircuitBreakerResponse(
            message=f"Reset {done} circuit breaker(s)",
            successful_resets=done,
            results=results,
            timestamp=convert.timestamp(datetime.now(UTC)),
        )

    async def OpenCircuitBreaker(
        self, request: pb.OpenCircuitBreakerRequest, context: Context
    ) -> Any:
        results = await self._each_breaker(request.service, self.breakers.open)
        done = sum(r.success for r in results)
        return pb.OpenCircuitBreakerResponse(
            message=(
                f"Opened {done} circuit breaker(s): provider calls halt until a reset;"
                " tasks needing them are held back"
            ),
            successful_opens=done,
            results=results,
            timestamp=convert.timestamp(datetime.now(UTC)),
        )

    async def _each_breaker(
        self, service: str, change: Callable[[str], Awaitable[BreakerStatus]]
    ) -> list[pb.CircuitBreakerResult]:
        """Apply `change` to one named breaker, or to every known one: those in use,
        and the provider's. NotFound for any other name, which would create a breaker
        nothing ever passes."""
        known = sorted({*await self.breakers.services(), PROVIDER_SERVICE})
        if service and service not in known:
            raise NotFound(
                f"no circuit breaker named {quoted(service)} (known: {', '.join(known)})"
            )
        services = [service] if service else known
        results = []
        for name in services:
            before = await self.breakers.state(name)
            after = await change(name)
            results.append(
                pb.CircuitBreakerResult(
                    service=name,
                    previous_state=convert.circuit_state(before.state),
                    state=convert.circuit_state(after.state),
                    success=True,
                )
            )
        return results

    async def GetRateLimitStatus(
        self, request: pb.GetRateLimitStatusRequest, context: Context
    ) -> Any:
        status = await self.limiter.status()
        return pb.GetRateLimitStatusResponse(
            tokens=status.tokens,
            capacity=status.capacity,
            refill_rate=status.refill_rate,
            utilization=status.utilization,
            requests=status.requests,
            interval=status.interval,
            enabled=status.enabled,
        )


def _worker(record: WorkerRecord) -> pb.ExecutorWorker:
    stats = record.stats
    return pb.ExecutorWorker(
        worker_id=record.worker_id,
        pid=int(stats.get("pid", 0)),
        concurrency=int(stats.get("concurrency", 0)),
        active_task_ids=record.active_tasks,
        completed=int(stats.get("completed", 0)),
        failed=int(stats.get("failed", 0)),
        last_heartbeat=convert.timestamp_from_unix(record.last_seen),
    )
