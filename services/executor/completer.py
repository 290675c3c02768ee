"""Completions go to Redis in batches: while one batch is in flight the next gathers.

Under load a worker with many slots pays one round trip for many tasks; when idle
a completion still goes out at once.
"""

from __future__ import annotations

import asyncio

from taskflow.aio import first_of
from taskflow.errors import TaskflowError
from taskflow.store import ClaimedTask, TaskStore

_Pending = tuple[ClaimedTask, str, "asyncio.Future[None]"]


class Completer:
    def __init__(self, store: TaskStore, max_batch: int = 500) -> None:
        self._store = store
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._ready = asyncio.Event()

    async def complete(self, claim: ClaimedTask, result: str) -> None:
        """Returns once Redis has the result; raises LeaseLost/NotFound like the store."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((claim, result, done))
        self._ready.set()
        await done

    async def run(self, stop: asyncio.Event) -> None:
        """Send batches until `stop` is set (call flush() afterwards for the rest)."""
        while not stop.is_set():
            await first_of(self._ready, stop)
            await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if not self._pending:
                self._ready.clear()
            try:
                outcomes: list[TaskflowError | None] = await self._store.complete_many(
                    [(claim, result) for claim, result, _ in batch]
                )
            except Exception as exc:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, _, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)
