"""ExecutorService over gRPC: status of this executor, pause/resume for all of them.

The circuit breaker and the rate limiter are shared through Redis, so any
executor can answer for them; their RPCs live with the provider code.
"""

from __future__ import annotations

from typing import Any

from grpc import aio

from taskflow.errors import Unavailable
from taskflow.rpc import convert
from taskflow.store.control import ExecutorControl
from taskflow.store.workers import WorkerRecord, WorkerRegistry
from taskflow.v1 import executor_service_pb2 as pb
from taskflow.v1.executor_service_pb2_grpc import ExecutorServiceServicer

Context = aio.ServicerContext[Any, Any]


class ExecutorServicer(ExecutorServiceServicer):
    def __init__(
        self, executor_id: str, registry: WorkerRegistry, control: ExecutorControl
    ) -> None:
        self.executor_id = executor_id
        self.registry = registry
        self.control = control

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

    # The breaker and rate-limiter RPCs arrive with the provider work (issue 4).
    async def ResetCircuitBreaker(
        self, request: pb.ResetCircuitBreakerRequest, context: Context
    ) -> Any:
        raise Unavailable("the circuit breaker is not available in this build")

    async def OpenCircuitBreaker(
        self, request: pb.OpenCircuitBreakerRequest, context: Context
    ) -> Any:
        raise Unavailable("the circuit breaker is not available in this build")

    async def GetRateLimitStatus(
        self, request: pb.GetRateLimitStatusRequest, context: Context
    ) -> Any:
        raise Unavailable("the rate limiter is not available in this build")


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
