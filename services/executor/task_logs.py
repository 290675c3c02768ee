"""A running task's log lines, caught on their way through `logging` and kept
with the task (taskflow/store/task_logs.py).

One handler on the root logger sees every record; a context variable set around
the handler call says which task (if any) the record belongs to. The context
variable follows the handler into the tasks it starts and into the thread of a
CPU-bound handler (asyncio.to_thread copies it), so plain
`logging.getLogger(__name__).info(...)` inside a handler is attributed to its
task, as is `ctx.logger` / `ctx.log(...)`. The worker's hook:

    capture = TaskLogCapture(task_id, task_type, store)
    context = TaskContext(..., logger=capture.start())
    ... run the handler ...
    await capture.close()  # in `finally`, before the outcome is saved

Lines are masked by the process's secret filter, buffered (the newest
BUFFER_LINES) and written at most once per FLUSH_INTERVAL_S per task, in one
round trip each; what is left is written when the handler ends, before its
outcome is saved, so a finished task shows all its lines.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from taskflow.aio import stop_writer
from taskflow.errors import NotFound
from taskflow.logs import redactor
from taskflow.store import TaskStore
from taskflow.store.task_logs import MAX_LINES, LogLine, TaskLogs

log = logging.getLogger(__name__)
FLUSH_INTERVAL_S = 0.5  # at most 2 writes/s per task, like progress
BUFFER_LINES = MAX_LINES  # what the store keeps anyway
TASK_LOGGER = "taskflow.task"  # ctx.logger is a child named after the task type

Append = Callable[[Sequence[LogLine]], Awaitable[int]]
_current: contextvars.ContextVar[TaskLogCapture | None] = contextvars.ContextVar(
    "task_log_capture", default=None
)
# Taken when a task's first line makes its buffer (maybe in a handler's thread) and
# when its capture closes.
_FIRST_LINE = threading.Lock()


class TaskLogBuffer:
    """Lines of one running task waiting to be written."""

    def __init__(self, task_id: str, append: Append, loop: asyncio.AbstractEventLoop) -> None:
        self.task_id = task_id
        self._append = append
        self._loop = loop
        self._lines: deque[LogLine] = deque(maxlen=BUFFER_LINES)
        self._lock = threading.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self._writing = False

    def add(self, record: logging.LogRecord) -> None:
        """Called by the root handler, from the loop's thread or a handler's thread."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        line = LogLine(
            time=datetime.fromtimestamp(record.created, UTC),
            level=record.levelname,
            logger=record.name,
            message=redactor().redact(message),
        )
        with self._lock:
            if self._closed:
                return
            self._lines.append(line)
        self._loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self._closed or (self._flusher is not None and not self._flusher.done()):
            return
        # A fresh context: the flusher's own records are not the task's lines.
        self._flusher = self._loop.create_task(
            self._flush_later(), name=f"task-logs-{self.task_id}", context=contextvars.Context()
        )

    async def _flush_later(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self._write()
            with self._lock:
                if not self._lines:
                    return

    def _take(self) -> list[LogLine]:
        with self._lock:
            lines = list(self._lines)
            self._lines.clear()
        return lines

    async def _write(self) -> None:
        lines = self._take()
        if not lines:
            return
        self._writing = True
        try:
            await self._append(lines)
        except NotFound:
            self._closed = True  # the task was deleted: nothing more to keep
        except Exception as error:
            log.warning(
                "event=task_logs_not_saved task_id=%s lines=%d error=%s",
                self.task_id, len(lines), type(error).__name__,
            )  # fmt: skip
        finally:
            self._writing = False

    async def close(self) -> None:
        """The handler ended: write what is left. A write under way is let finish
        (cancelling a Redis call mid-reply would spoil its connection)."""
        await stop_writer(self._flusher, writing=self._writing)
        with self._lock:
            closed, self._closed = self._closed, True
            left = bool(self._lines)
        # Most tasks log nothing: no write, and no task to shield one (a task each).
        if not closed and left:
            await asyncio.shield(self._write())


@functools.cache
def _task_logger(task_type: str) -> logging.Logger:
    """A task type's own logger (getLogger takes the logging module's lock: once per
    type, not once per task run)."""
    return logging.getLogger(f"{TASK_LOGGER}.{task_type}")


class _TaskLogHandler(logging.Handler):
    """Hands each record to the buffer of the task it was logged in, if any."""

    def handle(self, record: logging.LogRecord) -> bool:
        # Every record of the process comes here (the executor logs a line per
        # task): no handler lock and no filters, which Handler.handle would take and
        # run for each; a capture's add() is safe from any thread on its own.
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        capture = _current.get()
        if capture is not None:
            capture.add(record)


_handler = _TaskLogHandler()


class TaskLogCapture:
    """Catches one task's lines from start() to close(), both in the task's own
    asyncio task (the worker's, around the handler call). Its buffer is made by the
    first line: most tasks log nothing, and then cost no buffer and no write."""

    def __init__(self, task_id: str, task_type: str, store: TaskStore) -> None:
        self._task_id = task_id
        self._store = store
        self._loop = asyncio.get_running_loop()
        self._buffer: TaskLogBuffer | None = None
        self._closed = False
        self._logger = _task_logger(task_type)
        self._token: contextvars.Token[TaskLogCapture | None] | None = None

    def start(self) -> logging.Logger:
        """From now on records logged in this context are the task's lines; returns
        the task's own logger (`ctx.logger`)."""
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)
            # ctx.log's INFO lines are kept even where the process logs warnings only.
            if logging.getLogger(TASK_LOGGER).level == logging.NOTSET:
                logging.getLogger(TASK_LOGGER).setLevel(logging.INFO)
        self._token = _current.set(self)
        return self._logger

    def add(self, record: logging.LogRecord) -> None:
        """A record logged in the task's context, from the loop's thread or a
        handler's thread."""
        buffer = self._buffer
        if buffer is None:
            with _FIRST_LINE:
                if self._buffer is None and not self._closed:
                    logs, task_id = TaskLogs(self._store), self._task_id
                    self._buffer = TaskLogBuffer(
                        task_id, lambda lines: logs.append(task_id, lines), self._loop
                    )
                buffer = self._buffer
            if buffer is None:
                return
        buffer.add(record)

    async def close(self) -> None:
        """The handler ended: stop catching and write what is left."""
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        with _FIRST_LINE:
            self._closed = True
            buffer = self._buffer
        if buffer is not None:
            await buffer.close()
