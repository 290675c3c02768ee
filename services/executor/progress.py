"""A running task's progress reports, throttled on their way to the store.

A handler may call `ctx.progress(fraction, message)` as often as it likes, from
the event loop or from a CPU-bound handler's thread: at most one store write per
MIN_INTERVAL_S goes out per task, the latest report winning, and the last one is
written once the interval has passed (so a finished loop's "100 %" is not lost
while the task is still running). Once the task ends, reports are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from taskflow.aio import stop_writer
from taskflow.errors import LeaseLost, NotFound

log = logging.getLogger(__name__)
MIN_INTERVAL_S = 0.5  # docs/state-machine.md: at most 2 writes/s per task

Write = Callable[[float, str], Awaitable[None]]


class ProgressReporter:
    def __init__(self, task_id: str, write: Write, loop: asyncio.AbstractEventLoop) -> None:
        self.task_id = task_id
        self._write = write
        self._loop = loop
        self._pending: tuple[float, str] | None = None
        self._last_write = -math.inf
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._writing = False

    def report(self, fraction: float, message: str = "") -> None:
        """Called by the handler's context, from any thread."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress fraction must be between 0 and 1")
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            in_loop = False
        if in_loop:
            self._offer(fraction, message)
        else:
            self._loop.call_soon_threadsafe(self._offer, fraction, message)

    def _offer(self, fraction: float, message: str) -> None:
        if self._closed:
            return
        self._pending = (fraction, message)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=f"progress-{self.task_id}")

    async def _flush(self) -> None:
        while self._pending is not None and not self._closed:
            wait = self._last_write + MIN_INTERVAL_S - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            fraction, message = self._pending
            self._pending = None
            self._last_write = time.monotonic()
            self._writing = True
            try:
                await self._write(fraction, message)
            except (LeaseLost, NotFound):
                self._closed = True  # the task ended or moved on: nothing more to say
            except Exception as error:
                log.warning(
                    "event=progress_not_saved task_id=%s error=%s",
                    self.task_id, type(error).__name__,
                )  # fmt: skip
            finally:
                self._writing = False

    async def close(self) -> None:
        """The task ended: drop what was not written yet. A write under way is let
        finish (cancelling a Redis call mid-reply would spoil its connection); one
        landing after the outcome is refused by the store (the task is no longer
        ACTIVE under this lease)."""
        self._closed = True
        await stop_writer(self._flusher, writing=self._writing)
