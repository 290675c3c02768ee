"""Rate-limited task types at the handler (taskflow/store/limits.py).

A claim grants a rate-limited task its token; the token counts from the moment
the handler starts, which this gate reports to Redis in batches (while one batch
is in flight the next gathers). A task that could not start within
START_WITHIN_S of its claim must not start at all: the worker parks it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from taskflow.aio import first_of
from taskflow.store import ClaimedTask
from taskflow.store.limits import START_WITHIN_S, LimitStore

log = logging.getLogger(__name__)
# Why a task that started too late was held back (its state history says so).
LATE_START = "rate limit: claimed too long before a slot could start it"


class StartGate:
    def __init__(self, limits: LimitStore, rate_limited: Callable[[str], bool]) -> None:
        self._limits = limits
        self._rate_limited = rate_limited
        self._claimed_at: dict[str, float] = {}
        self._starts: list[tuple[ClaimedTask, float]] = []
        self._ready = asyncio.Event()

    def claimed(self, claims: Iterable[ClaimedTask], asked_at: float) -> None:
        """`claims` came from a claim asked for at time.monotonic() `asked_at`."""
        for claim in claims:
            if self._rate_limited(claim.task_type):
                self._claimed_at[claim.task_id] = asked_at

    def in_time(self, claim: ClaimedTask) -> bool:
        """May the task's handler still start (always, for a type without a rate)?
        Asked once per claimed task, before anything else is done with it."""
        asked_at = self._claimed_at.pop(claim.task_id, None)
        return asked_at is None or time.monotonic() <= asked_at + START_WITHIN_S

    def started(self, claim: ClaimedTask) -> None:
        """The task's handler starts now."""
        if self._rate_limited(claim.task_type):
            self._starts.append((claim, time.monotonic()))
            self._ready.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Report starts until `stop` is set, then the rest."""
        while not stop.is_set():
            await first_of(self._ready, stop)
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        while self._starts:
            batch, self._starts = self._starts, []
            self._ready.clear()
            try:
                await self._limits.started(batch)
            except Exception as error:
                # Unreported, each token counts from its start deadline: later than
                # the real start, so the limit still holds (less of it is used).
                log.warning("event=starts_not_reported count=%d error=%r", len(batch), str(error))
