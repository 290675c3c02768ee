"""`taskflow submit`: create a task and (by default) follow it live to its result."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import grpc
import typer

from taskflow.cli.common import Exit, console, fail, out, run
from taskflow.cli.follow_view import FollowView
from taskflow.client import Clients
from taskflow.v1 import (
    enums_pb2,
    executor_service_pb2,
    monitor_service_pb2,
    scheduler_service_pb2,
)
from taskflow.when import parse_at, parse_delay

TERMINAL = {
    enums_pb2.TASK_STATE_COMPLETED,
    enums_pb2.TASK_STATE_DLQ,
    enums_pb2.TASK_STATE_CANCELLED,
}


def submit(
    text: Annotated[str | None, typer.Argument(help="Text to summarize.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="A PDF to extract articles from.")] = None,
    issue_date: Annotated[str, typer.Option(help="Issue date of the PDF (ISO 8601).")] = "",
    task_type: Annotated[
        str | None, typer.Option("--type", help="Any registered type (`noop`, `summarize`...).")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Follow the task to its result.")] = True,
    run_in: Annotated[
        str | None, typer.Option("--in", help="Run after this delay: 90s, 10m, 1h30m, 2d.")
    ] = None,
    run_at: Annotated[
        str | None, typer.Option("--at", help="Run at this ISO 8601 time (local if no zone).")
    ] = None,
    queue: Annotated[
        str, typer.Option(help="Named queue to put it in (default: its type's queue).")
    ] = "",
) -> None:
    """Submit a task and (by default) follow it live to its result."""
    if pdf is None and task_type is None and text is None:
        fail("give a text to summarize, --pdf FILE, or --type TYPE", Exit.BAD_INPUT)
    when = _run_time(run_in, run_at, pdf)
    if queue and pdf is not None:
        raise typer.BadParameter("--queue does not apply to --pdf")

    async def command(clients: Clients) -> int:
        task_id = await _create(clients, text, pdf, issue_date, task_type, when, queue)
        typer.echo(task_id)
        return await _follow(clients, task_id) if wait else Exit.OK

    raise typer.Exit(run(command))


def _run_time(run_in: str | None, run_at: str | None, pdf: Path | None) -> datetime | None:
    if run_in is None and run_at is None:
        return None
    if run_in is not None and run_at is not None:
        raise typer.BadParameter("give --in or --at, not both")
    if pdf is not None:
        raise typer.BadParameter("--in/--at do not apply to --pdf yet")
    try:
        return (
            datetime.now(UTC) + parse_delay(run_in)
            if run_in is not None
            else parse_at(run_at or "")
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


async def _create(
    clients: Clients,
    text: str | None,
    pdf: Path | None,
    issue_date: str,
    task_type: str | None,
    when: datetime | None = None,
    queue: str = "",
) -> str:
    md = clients.metadata
    if pdf is not None:
        request = scheduler_service_pb2.CreatePdfxtractTaskRequest(
            pdf=await asyncio.to_thread(pdf.read_bytes), filename=pdf.name, issue_date=issue_date
        )
        return (await clients.scheduler.CreatePdfxtractTask(request, metadata=md)).task_id
    if task_type is not None or when is not None or queue:
        generic = scheduler_service_pb2.CreateTaskRequest(
            task_type=task_type or "summarize", content=text or "", queue=queue
        )
        if when is not None:
            generic.run_at.FromDatetime(when)
        return (await clients.scheduler.CreateTask(generic, metadata=md)).task_id
    summarize = scheduler_service_pb2.CreateSummarizeTaskRequest(content=text or "")
    return (await clients.scheduler.CreateSummarizeTask(summarize, metadata=md)).task_id


async def _paused(clients: Clients) -> bool:
    """Whether claiming is paused; an executor that cannot say is taken as not paused."""
    request = executor_service_pb2.GetExecutorStatusRequest()
    try:
        return (await clients.executor.GetExecutorStatus(request, metadata=clients.metadata)).paused
    except grpc.aio.AioRpcError:
        return False


async def _follow(clients: Clients, task_id: str) -> int:
    """Show the task's state and progress live (from the WatchTask stream) and print
    its outcome."""
    request = monitor_service_pb2.WatchTaskRequest(task_id=task_id)
    last = None
    waiting = "waiting for the task..."
    if await _paused(clients):
        waiting = "the executors are paused: nothing runs until `taskflow resume`"
        console.print(f"[yellow]{waiting}[/yellow]")
    with FollowView(console, waiting, live=out.is_terminal) as view:
        async for update in clients.monitor.WatchTask(request, metadata=clients.metadata):
            if update.deleted:
                console.print("the task was deleted")
                return Exit.TASK_FAILED
            last = update.task
            view.show(last)
    if last is None or last.state not in TERMINAL:
        console.print("[red]the watch ended before the task finished[/red]")
        return Exit.TASK_FAILED
    if last.state == enums_pb2.TASK_STATE_DLQ:
        console.print(f"[red]DLQ[/red] {last.error_type}: {last.last_error}")
        if last.error_history and last.error_history[-1].traceback:
            # An unexpected exception: where it came from, as the worker saw it.
            console.print(last.error_history[-1].traceback, markup=False, highlight=False)
        return Exit.TASK_FAILED
    if last.state == enums_pb2.TASK_STATE_CANCELLED:
        console.print("[yellow]CANCELLED[/yellow]")
        return Exit.TASK_FAILED
    console.print("[green]COMPLETED[/green]")
    typer.echo(last.result)
    return Exit.OK
