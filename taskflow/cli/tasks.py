"""`taskflow tasks list|show|retry|cancel|delete|corrupt`: one task or a page of them,
and the ids a claim set aside as corrupt."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from taskflow.cli.common import (
    Exit,
    JsonOption,
    console,
    fail,
    out,
    parse_state,
    print_json,
    run,
    state_name,
)
from taskflow.cli.status_view import when
from taskflow.client import Clients
from taskflow.v1 import enums_pb2, scheduler_service_pb2, task_pb2

app = typer.Typer(
    help="List, show, retry, cancel, delete and clean up tasks.", no_args_is_help=True
)

TaskId = Annotated[str, typer.Argument(help="The task's id.")]


@app.command("list")
def list_tasks(
    state: Annotated[
        str | None, typer.Option("--status", "--state", help="Only tasks in this state (DLQ...).")
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="Only tasks of this type.")] = "",
    search: Annotated[str, typer.Option(help="Only ids starting with this prefix.")] = "",
    page: Annotated[int, typer.Option(min=1, help="Page number, from 1.")] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100, help="Tasks per page.")] = 20,
    oldest_first: Annotated[bool, typer.Option(help="Oldest first (default: newest).")] = False,
    json: JsonOption = False,
) -> None:
    """A page of tasks, newest first, filtered by state, type and id prefix."""
    request = scheduler_service_pb2.ListTaskSummariesRequest(
        status=parse_state(state),
        task_type=task_type,
        task_id=search,
        page=page,
        page_size=page_size,
        sort_order=enums_pb2.SORT_ORDER_ASC if oldest_first else enums_pb2.SORT_ORDER_DESC,
    )

    async def command(clients: Clients) -> None:
        answer = await clients.scheduler.ListTaskSummaries(request, metadata=clients.metadata)
        if json:
            print_json(answer)
            return
        table = Table(
            title=f"Tasks: {answer.total_items} (page {answer.page} of {answer.total_pages})",
            title_justify="left",
        )
        for column in ("id", "type", "state", "retries", "created", "last error"):
            table.add_column(column, justify="right" if column == "retries" else "left")
        for task in answer.tasks:
            table.add_row(
                task.task_id,
                task.task_type,
                state_name(task.state),
                f"{task.retry_count}/{task.max_retries}",
                when(task.created_at),
                task.last_error,
            )
        out.print(table)

    run(command)


@app.command()
def show(task_id: TaskId, json: JsonOption = False) -> None:
    """One task: its fields, result, state history and errors."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.GetTaskRequest(task_id=task_id)
        task = (await clients.scheduler.GetTask(request, metadata=clients.metadata)).task
        if json:
            print_json(task)
        else:
            out.print(_details(task))

    run(command)


def _details(task: task_pb2.Task) -> Table:
    table = Table(title=f"Task {task.task_id}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = {
        "type": task.task_type,
        "state": state_name(task.state),
        "retries": f"{task.retry_count}/{task.max_retries}",
        "worker": task.worker_id,
        "created": when(task.created_at),
        "started": when(task.started_at),
        "running for": _running_for(task),
        "completed": when(task.completed_at),
        "retry after": when(task.retry_after),
        "dlq since": when(task.dlq_at),
        "error": f"{task.error_type}: {task.last_error}" if task.last_error else "",
        "content": task.content if len(task.content) <= 200 else f"{task.content[:200]}...",
        "payload": f"{task.payload_size} bytes" if task.has_payload else "",
        "result": task.result,
    }
    for name, value in rows.items():
        if value:
            table.add_row(name, value)
    for record in task.state_history:
        table.add_row("history", f"{when(record.timestamp)} {state_name(record.state)}")
    for error in task.error_history:
        table.add_row("failure", f"{when(error.timestamp)} {error.error_type}: {error.error}")
    return table


def _running_for(task: task_pb2.Task) -> str:
    if task.state != enums_pb2.TASK_STATE_ACTIVE or not task.started_at.seconds:
        return ""
    elapsed = datetime.now(UTC) - task.started_at.ToDatetime(tzinfo=UTC)
    return f"{elapsed.total_seconds():.1f} s"


@app.command()
def retry(
    task_id: TaskId,
    reset_retries: Annotated[bool, typer.Option(help="Start its retry count from 0.")] = False,
) -> None:
    """Put a FAILED or DLQ task back in its queue."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.RetryTaskRequest(
            task_id=task_id, reset_retry_count=reset_retries
        )
        answer = await clients.scheduler.RetryTask(request, metadata=clients.metadata)
        console.print(f"{answer.task_id} is {state_name(answer.state)} again")

    run(command)


@app.command()
def cancel(
    task_id: Annotated[
        str | None, typer.Argument(help="The task's id; omit it to cancel by filter.")
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--status", "--state", help="With no id: only tasks in this state."),
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="With no id: only this type.")] = "",
    queue: Annotated[str, typer.Option(help="With no id: only this queue.")] = "",
) -> None:
    """Cancel a task (PENDING or SCHEDULED at once; ACTIVE once its worker stops it),
    or, with no id, every task matching the filters (at least one)."""
    filtered = bool(state or task_type or queue)
    if (task_id is None) == (not filtered):
        fail("give a task id, or filters (--status, --type, --queue), not both", Exit.BAD_INPUT)

    async def command(clients: Clients) -> None:
        if task_id is not None:
            request = scheduler_service_pb2.CancelTaskRequest(task_id=task_id)
            answer = await clients.scheduler.CancelTask(request, metadata=clients.metadata)
            console.print(f"{answer.task_id} is {state_name(answer.state)}: {answer.message}")
            return
        bulk = scheduler_service_pb2.CancelTasksRequest(
            states=[parse_state(name) for name in state or []], task_type=task_type, queue=queue
        )
        done = await clients.scheduler.CancelTasks(bulk, metadata=clients.metadata)
        console.print(done.message)

    run(command)


@app.command()
def delete(task_id: TaskId) -> None:
    """Delete a task, its result and its payload."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.DeleteTaskRequest(task_id=task_id)
        answer = await clients.scheduler.DeleteTask(request, metadata=clients.metadata)
        console.print(answer.message)

    run(command)


@app.command()
def corrupt(
    drop: Annotated[
        bool,
        typer.Option(
            "--drop",
            help="Drop the ids listed (each hash stays: `tasks delete ID` removes it).",
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Ids to show, newest first.")] = 100,
    json: JsonOption = False,
) -> None:
    """Ids a claim set aside because their stored task could not be read
    (tasks:corrupt), with what is left of each hash; --drop then drops them."""

    async def command(clients: Clients) -> None:
        request = scheduler_service_pb2.ListCorruptTasksRequest(limit=limit)
        answer = await clients.scheduler.ListCorruptTasks(request, metadata=clients.metadata)
        if json and not drop:
            print_json(answer)
            return
        table = Table(title=f"Set aside as corrupt: {answer.total}", title_justify="left")
        table.add_column("id")
        table.add_column("what is left of its hash", overflow="fold")
        for entry in answer.tasks:
            fields = " ".join(f"{k}={v!r}" for k, v in sorted(entry.fields.items()))
            table.add_row(entry.task_id, fields or "(no hash)")
        out.print(table)
        if drop and answer.tasks:
            ids = [entry.task_id for entry in answer.tasks]
            dropped = scheduler_service_pb2.DropCorruptTasksRequest(task_ids=ids)
            done = await clients.scheduler.DropCorruptTasks(dropped, metadata=clients.metadata)
            console.print(f"dropped {done.dropped} of them")

    run(command)
