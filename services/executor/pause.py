"""Following the cluster-wide pause flag, so workers can ask it without a round trip."""

from __future__ import annotations

import asyncio
import logging

from taskflow.aio import sleep_unless
from taskflow.store.control import ExecutorControl

log = logging.getLogger(__name__)
# How soon a pause or resume reaches every worker.
POLL_S = 0.5


class PauseFollower:
    """Polls the flag; calling the instance says whether claiming is paused now."""

    def __init__(self, control: ExecutorControl) -> None:
        self.control = control
        self.paused = False

    def __call__(self) -> bool:
        return self.paused

    async def refresh(self) -> None:
        """Read the flag once. Called before a worker's first claim too: an executor
        started while the cluster is paused takes nothing, not a batch or two before
        its first poll answers."""
        try:
            paused = await self.control.is_paused()
        except Exception:
            log.exception("event=pause_flag_unreadable")
            return
        if paused != self.paused:
            log.info("event=%s", "claiming_paused" if paused else "claiming_resumed")
        self.paused = paused

    async def run(self, stop: asyncio.Event) -> None:
        while True:
            await self.refresh()
            if await sleep_unless(stop, POLL_S):
                return
