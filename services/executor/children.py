"""Extra worker processes of one executor (TASKFLOW_EXECUTOR_PROCESSES > 1).

Each child runs one Worker with its own event loop, so CPU-heavy handlers in one
process do not slow the others. A child gets SIGTERM when its parent dies, even
by SIGKILL, and then hands its tasks back like any graceful stop.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import signal
import sys
import time
from multiprocessing.process import BaseProcess

from services.executor.runtime import run_worker
from taskflow.logs import configure_logging
from taskflow.redis_runtime import connected
from taskflow.rpc.server import stop_on_signals
from taskflow.settings import Settings

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _child_main(settings: Settings, executor_id: str, index: int) -> None:
    _die_with_parent()
    configure_logging(settings.log_level, settings.secret_values())
    asyncio.run(_child(settings, executor_id, index))


async def _child(settings: Settings, executor_id: str, index: int) -> None:
    stop = asyncio.Event()
    stop_on_signals(stop)
    # Child N serves its metrics on the executor's port + N.
    port = settings.executor_metrics_port + index if settings.executor_metrics_port else 0
    async with connected(settings, settings.redis_url or "") as client:
        await run_worker(settings, client, executor_id, stop, port)


class WorkerProcesses:
    """Starts `count` child worker processes and stops them gracefully."""

    def __init__(self, settings: Settings, executor_id: str, count: int) -> None:
        self.settings = settings
        self.executor_id = executor_id
        self.count = count
        self.processes: list[BaseProcess] = []

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        for index in range(self.count):
            process = context.Process(
                target=_child_main,
                args=(self.settings, self.executor_id, index + 1),
                name=f"{self.executor_id}-worker-{index + 1}",
                daemon=False,
            )
            process.start()
            self.processes.append(process)
        if self.processes:
            log.info("event=worker_processes_started count=%d", len(self.processes))

    async def stop(self, timeout_s: float) -> None:
        """SIGTERM every child, wait up to `timeout_s`, then SIGKILL what is left."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        await asyncio.to_thread(self._join, timeout_s)
        for process in self.processes:
            if process.is_alive():
                log.error("event=worker_process_killed pid=%s", process.pid)
                process.kill()
                process.join()

    def _join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for process in self.processes:
            process.join(max(deadline - time.monotonic(), 0.1))
