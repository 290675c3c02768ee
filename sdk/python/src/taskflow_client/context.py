"""TaskContext: what a remote worker's handler gets, and what it can report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import timestamp_pb2

from taskflow_client.v1 import task_pb2
from taskflow_client.v1 import worker_service_pb2 as pb


@dataclass
class TaskContext:
    """A task's input, and ways to report on it.

    An async handler a client cancels is cancelled at its next await
    (asyncio.CancelledError: clean up in `finally`); a plain one, run in a thread,
    should look at `cancelled` now and then and return early."""

    task_id: str
    task_type: str
    content: str
    metadata: dict[str, Any]
    retry_count: int
    _report: Callable[[pb.TaskProgress], None] = field(repr=False)
    _lease_token: str = field(repr=False)
    _fetch_payload: Callable[[], Awaitable[bytes]] = field(repr=False)
    _cancelled: bool = field(default=False, repr=False)

    @property
    def cancelled(self) -> bool:
        """True once a client asked to cancel this task."""
        return self._cancelled

    async def payload(self) -> bytes:
        """The task's binary input (e.g. a PDF), fetched from the executor when
        asked for; b'' when it has none."""
        return await self._fetch_payload()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report how far the task is: `fraction` in 0..1 and a short message, stored
        with the task as our own workers' (at most twice a second, the latest winning)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress fraction must be between 0 and 1")
        self._send(fraction=fraction, message=message)

    def log(self, *lines: str, level: str = "INFO") -> None:
        """Log lines of this task, stored with it (GetTaskLogs, `taskflow logs`),
        under the task type's name as logger."""
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        entries = [
            task_pb2.TaskLogLine(time=now, level=level, logger=self.task_type, message=line)
            for line in lines
        ]
        self._send(fraction=-1.0, log_entries=entries)

    def _send(self, **fields: Any) -> None:
        self._report(pb.TaskProgress(task_id=self.task_id, lease_token=self._lease_token, **fields))
