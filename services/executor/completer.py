"""Completions and claims go to Redis together: while one round trip is in flight the
next batch gathers, and a claim for the free slots rides along with it.

Under load a worker with many slots pays one round trip for many completions and
the next tasks to run (TaskStore.complete_and_claim); when idle, a completion or a
claim still goes out at once, on its own. Nothing waits to fill a batch: a batch is
whatever gathered while the previous round trip was in flight, and the sender wakes
on the one event that says something is waiting (no helper task per wake-up).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence

from taskflow.errors import TaskflowError
from taskflow.store import ClaimBatch, ClaimedTask, TaskStore

log = logging.getLogger(__name__)
# Told how saving one result went: None (saved), LeaseLost/NotFound like the store, or
# the error that kept its batch from Redis.
Saved = Callable[[Exception | None], None]
_Pending = tuple[ClaimedTask, str, Saved]
# A claim request: how many tasks, from which queues (name, weight), of which types.
_Claim = tuple[int, Sequence[tuple[str, int]], Sequence[str], "asyncio.Future[ClaimBatch]"]


class Completer:
    def __init__(self, store: TaskStore, worker_id: str, max_batch: int = 500) -> None:
        self._store = store
        self._worker_id = worker_id
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._claim: _Claim | None = None
        self._ready = asyncio.Event()  # something to send, or closing
        self._closing = False

    def complete_soon(self, claim: ClaimedTask, result: str, saved: Saved) -> None:
        """Sends the result with the next batch, then calls `saved` (on the loop)."""
        self._pending.append((claim, result, saved))
        self._ready.set()

    async def complete(self, claim: ClaimedTask, result: str) -> None:
        """Returns once Redis has the result; raises LeaseLost/NotFound like the store."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.complete_soon(claim, result, functools.partial(_settle, done))
        await done

    async def claim(
        self, max_tasks: int, queues: Sequence[tuple[str, int]], task_types: Sequence[str]
    ) -> ClaimBatch:
        """Up to `max_tasks` tasks claimed for this worker (TaskStore.claim's queues and
        task types), sent with the next batch of completions (one caller at a time:
        the worker's fetch loop)."""
        claimed: asyncio.Future[ClaimBatch] = asyncio.get_running_loop().create_future()
        self._claim = (max_tasks, queues, task_types, claimed)
        self._ready.set()
        return await claimed

    async def run(self) -> None:
        """Send batches until close() (call flush() afterwards for the rest)."""
        while not self._closing:
            await self._ready.wait()
            await self.flush()

    def close(self) -> None:
        """Ends run() once the batch in flight, if any, is answered."""
        self._closing = True
        self._ready.set()

    async def flush(self) -> None:
        while self._pending or self._claim:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            claim, self._claim = self._claim, None
            if not self._pending:
                self._ready.clear()
            try:
                outcomes, claimed = await self._send(batch, claim)
            except Exception as exc:
                outcomes = claimed = exc
            _settle_completions(batch, outcomes)
            if claim is not None and not claim[3].done():
                if isinstance(claimed, Exception):
                    claim[3].set_exception(claimed)
                else:
                    claim[3].set_result(ClaimBatch() if claimed is None else claimed)

    async def _send(
        self, batch: list[_Pending], claim: _Claim | None
    ) -> tuple[list[TaskflowError | None] | Exception, ClaimBatch | Exception | None]:
        finished = [(task, result) for task, result, _ in batch]
        if claim is None:
            return await self._store.complete_many(finished), None
        max_tasks, queues, task_types, _ = claim
        if not batch:
            return [], await self._store.claim(
                self._worker_id, max_tasks, queues=queues, task_types=task_types
            )
        return await self._store.complete_and_claim(
            finished, self._worker_id, max_tasks, queues=queues, task_types=task_types
        )


def _settle_completions(
    batch: list[_Pending], outcomes: list[TaskflowError | None] | Exception
) -> None:
    for index, (claim, _, saved) in enumerate(batch):
        try:
            saved(outcomes if isinstance(outcomes, Exception) else outcomes[index])
        except Exception:  # one caller's bug must not keep the others' answers back
            log.exception("event=completion_callback_failed task_id=%s", claim.task_id)


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():  # its waiter was cancelled
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
