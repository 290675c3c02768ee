"""Creates that arrive together reach the scheduler together.

Under load, most of what a REST create costs is the gRPC call itself, in the
gateway and in the scheduler, not the Redis write. So creates are coalesced: a
create that finds fewer than `max_in_flight` calls under way leaves on the next turn
of the event loop, with whatever arrived in the same turn; creates that arrive while
the calls are busy wait for the next free one and leave together as one
BatchCreateTasks (one script run in the store). A quiet gateway therefore sends each
create alone, at once; a busy one sends fewer, larger calls.

Callers see exactly what a call of their own would have given them: each gets its
own reply; a task the scheduler refuses fails the whole batch and writes nothing,
so that batch is sent again one create at a time, for each caller to get its own
answer; any other failure is every caller's.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc
from grpc import aio

from taskflow.v1 import scheduler_service_pb2 as pb

if TYPE_CHECKING:  # the async stub types exist in the .pyi files only
    from taskflow.v1.scheduler_service_pb2_grpc import SchedulerServiceAsyncStub

Metadata = tuple[tuple[str, str], ...]
Waiting = tuple[pb.CreateTaskRequest, asyncio.Future[pb.CreateTaskResponse]]
# Beyond this many tasks a call's own size starts to cost more than it saves.
MAX_BATCH = 100
MAX_IN_FLIGHT = 2


class CreateBatcher:
    def __init__(
        self,
        scheduler: SchedulerServiceAsyncStub,
        timeout: float,
        *,
        max_batch: int = MAX_BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.scheduler = scheduler
        self.timeout = timeout
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        # Only creates with the same credentials share a call.
        self._waiting: dict[Metadata, list[Waiting]] = {}
        self._in_flight = 0
        self._flush_due = False
        self._calls: set[asyncio.Task[None]] = set()

    async def create(
        self, request: pb.CreateTaskRequest, metadata: Metadata
    ) -> pb.CreateTaskResponse:
        future: asyncio.Future[pb.CreateTaskResponse] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(metadata, []).append((request, future))
        self._schedule_flush()
        return await future

    def _schedule_flush(self) -> None:
        if self._flush_due or not self._waiting or self._in_flight >= self.max_in_flight:
            return
        self._flush_due = True
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        while self._waiting and self._in_flight < self.max_in_flight:
            metadata, queue = next(iter(self._waiting.items()))
            batch, rest = queue[: self.max_batch], queue[self.max_batch :]
            if rest:
                self._waiting[metadata] = rest
            else:
                del self._waiting[metadata]
            self._in_flight += 1
            call = asyncio.create_task(self._send(metadata, batch))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    async def _send(self, metadata: Metadata, batch: list[Waiting]) -> None:
        try:
            await self._deliver(metadata, batch)
        finally:
            self._in_flight -= 1
            self._schedule_flush()

    async def _deliver(self, metadata: Metadata, batch: list[Waiting]) -> None:
        try:
            replies = await self._call(metadata, [request for request, _ in batch])
            for (_, future), reply in zip(batch, replies, strict=True):
                if not future.done():
                    future.set_result(reply)
        except aio.AioRpcError as error:
            if len(batch) > 1 and error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                await asyncio.gather(*(self._deliver(metadata, [one]) for one in batch))
            else:
                _settle(batch, error)
        except BaseException as error:
            _settle(batch, error)
            raise

    async def _call(
        self, metadata: Metadata, requests: list[pb.CreateTaskRequest]
    ) -> list[pb.CreateTaskResponse]:
        if len(requests) == 1:
            reply = await self.scheduler.CreateTask(
                requests[0], metadata=metadata, timeout=self.timeout
            )
            return [reply]
        batch = await self.scheduler.BatchCreateTasks(
            pb.BatchCreateTasksRequest(tasks=requests), metadata=metadata, timeout=self.timeout
        )
        return list(batch.tasks)


def _settle(batch: list[Waiting], error: BaseException) -> None:
    for _, future in batch:
        if future.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(error)
