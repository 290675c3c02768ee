"""Log lines of each task, kept in Redis beside the task (issue 17).

A task's handler logs; the executor batches the lines and appends them here (a
remote worker's servicer does the same for its workers). Each task keeps its
newest MAX_LINES lines, each cut to MAX_LINE_BYTES; the lines go when the task
goes (delete, retention). Lines are numbered 1, 2, ... per task, so a reader
pages with `after_seq`, and a follower asks for what came after the last it saw.

    logs = TaskLogs(store)
    last_seq = await logs.append(task_id, [LogLine(time, "INFO", "app", "hello")])
    page = await logs.read(task_id, after_seq=0, limit=100)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from taskflow.errors import InvalidInput, NotFound
from taskflow.store.tasks import TaskStore, check_task_id

MAX_LINES = 1000  # newest lines kept per task
MAX_LINE_BYTES = 2048  # a longer message (UTF-8) is cut and marked
MAX_FIELD_CHARS = 100  # level and logger names
MAX_PAGE = 1000
CUT_MARK = "…[cut]"


@dataclass(frozen=True)
class LogLine:
    """One line: when (the writer's clock), level, logger name and message."""

    time: datetime | None
    level: str
    logger: str
    message: str
    seq: int = 0  # set by the store (1, 2, ... per task); 0 on a line not stored yet


@dataclass(frozen=True)
class LogPage:
    """Lines after the asked seq, oldest first."""

    lines: list[LogLine]
    # Pass as after_seq to read on (the last line's seq, or the asked one if none).
    next_after_seq: int
    # True when lines after the asked seq were dropped (only the newest are kept).
    truncated: bool
    # The newest line's seq (0: none yet): more lines wait when above next_after_seq.
    last_seq: int


class TaskLogs:
    """Append and read a task's log lines."""

    def __init__(self, store: TaskStore, *, max_lines: int = MAX_LINES) -> None:
        self._store = store
        self.max_lines = max_lines

    async def append(self, task_id: str, lines: Sequence[LogLine]) -> int:
        """Append lines in one round trip; returns the last line's seq. NotFound when
        the task does not exist (any more): its lines are dropped."""
        task_id = check_task_id(task_id)
        args: list[str | int] = []
        for line in lines:
            stamp = 0 if line.time is None else int(line.time.timestamp() * 1000)
            args += [
                stamp,
                line.level[:MAX_FIELD_CHARS],
                line.logger[:MAX_FIELD_CHARS],
                _cut(line.message),
            ]
        last = await self._store.run_script(
            "log_append", self._store.keys.task_logs(task_id), task_id, self.max_lines, *args
        )
        if last in (b"NOTFOUND", "NOTFOUND"):
            raise NotFound(f"task {task_id} does not exist")
        return int(last)

    async def read(self, task_id: str, after_seq: int = 0, limit: int = 100) -> LogPage:
        """Up to `limit` kept lines with a seq above `after_seq`; NotFound for an
        unknown task."""
        task_id = check_task_id(task_id)
        if after_seq < 0:
            raise InvalidInput("after_seq must be >= 0")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        reply = await self._store.run_script(
            "log_read", self._store.keys.task_logs(task_id), task_id, after_seq, limit
        )
        first, last = int(reply[0]), int(reply[1])
        lines = [_line(raw) for raw in reply[2:]]
        return LogPage(
            lines=lines,
            next_after_seq=lines[-1].seq if lines else after_seq,
            truncated=first > after_seq + 1,
            last_seq=last,
        )


def _cut(message: str) -> str:
    raw = message.encode()
    if len(raw) <= MAX_LINE_BYTES:
        return message
    keep = MAX_LINE_BYTES - len(CUT_MARK.encode())
    return raw[:keep].decode(errors="ignore") + CUT_MARK


def _line(raw: bytes | str) -> LogLine:
    data = json.loads(raw)
    return LogLine(
        time=datetime.fromtimestamp(int(data["t"]) / 1000, UTC),
        level=str(data["l"]),
        logger=str(data["g"]),
        message=str(data["m"]),
        seq=int(data["seq"]),
    )
