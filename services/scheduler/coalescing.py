"""Unary creates that arrive together reach Redis together.

A create that finds no store call under way makes its own at once, so an idle or
sequential client pays nothing extra. Creates that arrive while a call is under way
wait for it to end and then leave together, up to `max_batch` in one create script
run (lua/create.lua takes many tasks per call): a client with many calls in flight
pays the script's fixed cost and a round trip once per batch instead of once per
task. Each task is still created atomically, exactly as one call of its own would.

Callers see what a call of their own would have given them: each gets its own
Created. A batch the store refuses as a whole (a domain error such as a task it
will not take) is sent again one task at a time, so only the culprit gets the
error; a failure to reach Redis is every caller's.
"""

from __future__ import annotations

import asyncio

from taskflow.errors import TaskflowError
from taskflow.store import Created, NewTask, TaskStore

Waiting = tuple[NewTask, "asyncio.Future[Created]"]
# The gateway's create batches are of 100 too (services/gateway/batching.py).
MAX_BATCH = 100


class CreateCoalescer:
    def __init__(self, store: TaskStore, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self._busy = False
        self._waiting: list[Waiting] = []
        self._sender: asyncio.Task[None] | None = None

    async def create(self, task: NewTask) -> Created:
        if self._busy:
            done: asyncio.Future[Created] = asyncio.get_running_loop().create_future()
            self._waiting.append((task, done))
            return await done
        self._busy = True
        try:
            (created,) = await self.store.create_many([task])
            return created
        finally:
            self._busy = False
            self._send_waiting()

    def _send_waiting(self) -> None:
        if self._waiting and not self._busy:
            self._busy = True
            self._sender = asyncio.create_task(self._send_all(), name="create-coalescer")

    async def _send_all(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                await _deliver(self.store, batch)
        finally:
            self._busy = False
            self._sender = None


async def _deliver(store: TaskStore, batch: list[Waiting]) -> None:
    try:
        created = await store.create_many([task for task, _ in batch])
    except TaskflowError as error:
        if len(batch) == 1:
            _settle(batch, error)
        else:
            for one in batch:
                await _deliver(store, [one])
        return
    except BaseException as error:
        _settle(batch, error)
        if isinstance(error, asyncio.CancelledError):
            raise
        return
    for (_, done), result in zip(batch, created, strict=True):
        if not done.done():
            done.set_result(result)


def _settle(batch: list[Waiting], error: BaseException) -> None:
    for _, done in batch:
        if done.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            done.cancel()
        else:
            done.set_exception(error)
