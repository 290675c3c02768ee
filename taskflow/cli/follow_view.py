"""What `taskflow submit` shows while it follows a task: on a terminal a live line
with the state, a progress bar (fraction and the handler's message) once the task
reports progress; otherwise one plain line per change, on stderr (stdout keeps the
task id and the result, for scripts)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from taskflow.cli.common import state_name
from taskflow.v1 import task_pb2


def describe(task: task_pb2.Task) -> str:
    return f"{state_name(task.state)} (retries: {task.retry_count}/{task.max_retries})"


def progress_text(task: task_pb2.Task) -> str:
    """'42% page 3 of 7', or '' before any progress report."""
    if not task.HasField("progress"):
        return ""
    return f"{task.progress * 100:.0f}% {task.progress_message}".rstrip()


class FollowView:
    """Use as a context manager; `show(task)` after each update."""

    def __init__(self, console: Console, waiting: str, *, live: bool) -> None:
        self._console = console
        self._live = live
        self._last_line = ""
        self._bar: Progress | None = None
        self._row: TaskID | None = None
        if live:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[note]}"),
                console=console,
                transient=True,
            )
            self._row = self._bar.add_task(waiting, total=None, note="")

    def __enter__(self) -> FollowView:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def show(self, task: task_pb2.Task) -> None:
        note = progress_text(task)
        if self._bar is not None and self._row is not None:
            total = 1.0 if task.HasField("progress") else None
            self._bar.update(
                self._row, description=describe(task), total=total, completed=task.progress,
                note=note,
            )  # fmt: skip
            return
        line = f"{describe(task)} {note}".rstrip()
        if line != self._last_line:
            self._last_line = line
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)
