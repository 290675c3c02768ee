"""`taskflow logs ID [--follow]`: a task's log lines (GetTaskLogs).

--follow streams them (WatchTask with_logs: each batch as it is stored, no
polling) until the task ends; without it, the kept lines are printed and the
command returns.
"""

from __future__ import annotations

from typing import Annotated

import typer

from taskflow.cli.common import console, out, run
from taskflow.client import Clients
from taskflow.v1 import monitor_service_pb2, scheduler_service_pb2, task_pb2

PAGE = 1000
LEVEL_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red"}


def logs(
    task_id: Annotated[str, typer.Argument(help="Id of the task.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the task ends.")
    ] = False,
) -> None:
    """Print the log lines a task's handler wrote (the newest 1,000 are kept)."""

    async def command(clients: Clients) -> None:
        if follow:
            await _follow(clients, task_id)
        else:
            await _print_kept(clients, task_id)

    run(command)


async def _print_kept(clients: Clients, task_id: str) -> None:
    after = 0
    while True:
        request = scheduler_service_pb2.GetTaskLogsRequest(
            task_id=task_id, after_seq=after, limit=PAGE
        )
        page = await clients.scheduler.GetTaskLogs(request, metadata=clients.metadata)
        if page.truncated and after == 0:
            console.print("[dim](older lines were dropped: only the newest are kept)[/dim]")
        for line in page.lines:
            _print(line)
        after = page.next_after_seq
        if not page.more:
            return


async def _follow(clients: Clients, task_id: str) -> None:
    request = monitor_service_pb2.WatchTaskRequest(task_id=task_id, with_logs=True)
    async for update in clients.monitor.WatchTask(request, metadata=clients.metadata):
        for line in update.log_lines:
            _print(line)
        if update.deleted:
            console.print("the task was deleted")
            return
    # the stream ends once the task is terminal


def _print(line: task_pb2.TaskLogLine) -> None:
    stamp = line.time.ToDatetime().isoformat(timespec="milliseconds")
    text = f"{stamp} {line.level:<8} {line.logger}: {line.message}"
    style = LEVEL_STYLES.get(line.level, "")
    out.print(text, style=style, markup=False, highlight=False, soft_wrap=True)
